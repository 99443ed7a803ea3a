// Batch normalisation (inference and fused training forms) and matrix products.
#include "capture.h"

namespace epsilab {

using at::Tensor;

static bool perChannel(const Tensor& x, const Optional<Tensor>& t) {
  return !t || (t->dim() == 1 && t->size(0) == x.size(x.dim() - 1));
}

// batchNorm(x, mean, variance, offset|null, scale|null, epsilon) with given statistics (tfjs FusedBatchNorm).
static Napi::Value batchNorm(const Napi::CallbackInfo& info) {
  std::vector<int32_t> inputs{slotOf(info[0]), slotOf(info[1]), slotOf(info[2])};
  bool hasOffset = !info[3].IsNull() && !info[3].IsUndefined(), hasScale = !info[4].IsNull() && !info[4].IsUndefined();
  if (hasOffset) inputs.push_back(slotOf(info[3]));
  if (hasScale) inputs.push_back(slotOf(info[4]));
  double eps = num(info[5]);
  return op1(info.Env(), inputs, [hasOffset, hasScale, eps](const TensorList& in) {
    const auto& x = in[0];
    const auto& mean = in[1];
    const auto& variance = in[2];
    Optional<Tensor> offset, scale;
    if (hasOffset) offset = in[3];
    if (hasScale) scale = in[hasOffset ? 4 : 3];
    bool fused = x.dim() == 4 && perChannel(x, mean) && perChannel(x, variance) && perChannel(x, offset) && perChannel(x, scale);
    if (fused) {
      auto y = at::batch_norm(nchw(x).contiguous(at::MemoryFormat::ChannelsLast), scale, offset, mean, variance, false, 0, eps, false);
      return nhwc(y);
    }
    auto factor = at::rsqrt(variance + eps);
    if (scale) factor = factor * *scale;
    auto y = (x - mean) * factor;
    return offset ? y + *offset : y;
  });
}

// batchNormTrain(x, scale, offset, epsilon) -> [y, mean, variance, invStd]: training-mode batch norm of an NHWC tensor
// with its batch statistics in one kernel; the biased variance (as tf.moments gives it) and 1/sqrt(variance + epsilon)
// for the gradient.
static Napi::Value batchNormTrain(const Napi::CallbackInfo& info) {
  double eps = num(info[3]);
  return opN(info.Env(), {slotOf(info[0]), slotOf(info[1]), slotOf(info[2])}, [eps](const TensorList& in) {
    const auto& x = in[0];
    int64_t channels = x.size(3), count = x.numel() / channels;
    // With momentum 1 the running buffers receive exactly this batch's mean and unbiased variance.
    auto mean = at::zeros({channels}, x.options()), unbiased = at::zeros({channels}, x.options());
    auto [y, savedMean, invStd] = at::native_batch_norm(nchw(x).contiguous(at::MemoryFormat::ChannelsLast), in[1], in[2], mean,
                                                        unbiased, true, 1.0, eps);
    auto variance = count > 1 ? unbiased * (static_cast<double>(count - 1) / count) : at::zeros_like(unbiased);
    return TensorList{nhwc(y), savedMean, variance, invStd};
  });
}

// batchNormTrainGrad(dy, x, scale, mean, invStd, epsilon) -> [dx, dScale, dOffset], the gradient to x including the
// part through the batch statistics.
static Napi::Value batchNormTrainGrad(const Napi::CallbackInfo& info) {
  double eps = num(info[5]);
  std::vector<int32_t> inputs{slotOf(info[0]), slotOf(info[1]), slotOf(info[2]), slotOf(info[3]), slotOf(info[4])};
  return opN(info.Env(), inputs, [eps](const TensorList& in) {
    auto format = at::MemoryFormat::ChannelsLast;
    auto [dx, dScale, dOffset] = at::native_batch_norm_backward(nchw(in[0]).contiguous(format), nchw(in[1]).contiguous(format),
                                                                in[2], kNone, kNone, in[3], in[4], true, eps,
                                                                {true, true, true});
    return TensorList{nhwc(dx), dScale, dOffset};
  });
}

// matmul(a, b, transposeA, transposeB) on rank-3 batches, broadcasting the batch axis as tfjs does.
static Napi::Value matmul(const Napi::CallbackInfo& info) {
  bool ta = info[2].As<Napi::Boolean>().Value(), tb = info[3].As<Napi::Boolean>().Value();
  return op1(info.Env(), {slotOf(info[0]), slotOf(info[1])}, [ta, tb](const TensorList& in) {
    Tensor a = ta ? in[0].transpose(-2, -1) : in[0], b = tb ? in[1].transpose(-2, -1) : in[1];
    if (a.size(0) == 1 && b.size(0) == 1) return at::mm(a[0], b[0]).unsqueeze(0);
    return at::matmul(a, b);
  });
}

void registerNorm(Napi::Env env, Napi::Object exports) {
  define(env, exports, "batchNorm", batchNorm);
  define(env, exports, "batchNormTrain", batchNormTrain);
  define(env, exports, "batchNormTrainGrad", batchNormTrainGrad);
  define(env, exports, "matmul", matmul);
}

}  // namespace epsilab
