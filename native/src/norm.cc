// Batch normalisation (inference and fused training forms) and matrix products.
#include "tensors.h"

namespace epsilab {

using at::Tensor;

static Optional<Tensor> optionalAt(const Napi::Value& id) {
  if (id.IsNull() || id.IsUndefined()) return kNone;
  return tensorAt(id);
}

static bool perChannel(const Tensor& x, const Optional<Tensor>& t) {
  return !t || (t->dim() == 1 && t->size(0) == x.size(x.dim() - 1));
}

// batchNorm(x, mean, variance, offset|null, scale|null, epsilon) with given statistics (tfjs FusedBatchNorm).
static Napi::Value batchNorm(const Napi::CallbackInfo& info) {
  const auto& x = tensorAt(info[0]);
  Tensor mean = tensorAt(info[1]), variance = tensorAt(info[2]);
  auto offset = optionalAt(info[3]), scale = optionalAt(info[4]);
  double eps = num(info[5]);
  bool fused = x.dim() == 4 && perChannel(x, mean) && perChannel(x, variance) && perChannel(x, offset) && perChannel(x, scale);
  if (fused) {
    auto y = at::batch_norm(nchw(x).contiguous(at::MemoryFormat::ChannelsLast), scale, offset, mean, variance, false, 0, eps, false);
    return wrap(info.Env(), nhwc(y));
  }
  auto factor = at::rsqrt(variance + eps);
  if (scale) factor = factor * *scale;
  auto y = (x - mean) * factor;
  return wrap(info.Env(), offset ? y + *offset : y);
}

// batchNormTrain(x, scale, offset, epsilon) -> [y, mean, variance, invStd]: training-mode batch norm of an NHWC tensor
// with its batch statistics in one kernel; the biased variance (as tf.moments gives it) and 1/sqrt(variance + epsilon)
// for the gradient.
static Napi::Value batchNormTrain(const Napi::CallbackInfo& info) {
  const auto& x = tensorAt(info[0]);
  int64_t channels = x.size(3), count = x.numel() / channels;
  // With momentum 1 the running buffers receive exactly this batch's mean and unbiased variance.
  auto mean = at::zeros({channels}, x.options()), unbiased = at::zeros({channels}, x.options());
  auto [y, savedMean, invStd] = at::native_batch_norm(nchw(x).contiguous(at::MemoryFormat::ChannelsLast), tensorAt(info[1]),
                                                      tensorAt(info[2]), mean, unbiased, true, 1.0, num(info[3]));
  auto variance = count > 1 ? unbiased * (static_cast<double>(count - 1) / count) : at::zeros_like(unbiased);
  return wrapAll(info.Env(), {nhwc(y), savedMean, variance, invStd});
}

// batchNormTrainGrad(dy, x, scale, mean, invStd, epsilon) -> [dx, dScale, dOffset], the gradient to x including the
// part through the batch statistics.
static Napi::Value batchNormTrainGrad(const Napi::CallbackInfo& info) {
  auto format = at::MemoryFormat::ChannelsLast;
  auto [dx, dScale, dOffset] = at::native_batch_norm_backward(
      nchw(tensorAt(info[0])).contiguous(format), nchw(tensorAt(info[1])).contiguous(format), tensorAt(info[2]),
      kNone, kNone, tensorAt(info[3]), tensorAt(info[4]), true, num(info[5]), {true, true, true});
  return wrapAll(info.Env(), {nhwc(dx), dScale, dOffset});
}

// matmul(a, b, transposeA, transposeB) on rank-3 batches, broadcasting the batch axis as tfjs does.
static Napi::Value matmul(const Napi::CallbackInfo& info) {
  Tensor a = tensorAt(info[0]), b = tensorAt(info[1]);
  if (info[2].As<Napi::Boolean>().Value()) a = a.transpose(-2, -1);
  if (info[3].As<Napi::Boolean>().Value()) b = b.transpose(-2, -1);
  if (a.size(0) == 1 && b.size(0) == 1) return wrap(info.Env(), at::mm(a[0], b[0]).unsqueeze(0));
  return wrap(info.Env(), at::matmul(a, b));
}

void registerNorm(Napi::Env env, Napi::Object exports) {
  define(env, exports, "batchNorm", batchNorm);
  define(env, exports, "batchNormTrain", batchNormTrain);
  define(env, exports, "batchNormTrainGrad", batchNormTrainGrad);
  define(env, exports, "matmul", matmul);
}

}  // namespace epsilab
