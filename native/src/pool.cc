// 2-D max and average pooling on NHWC data with TF semantics (uneven 'same' padding, padding excluded from averages).
#include <limits>

#include "capture.h"

namespace epsilab {

using at::Tensor;

namespace {

constexpr auto kChannelsLast = at::MemoryFormat::ChannelsLast;

// params: [filterH, filterW, strideH, strideW, padTop, padBottom, padLeft, padRight]
struct Window {
  std::vector<int64_t> kernel, stride;
  int64_t top, bottom, left, right;

  // ATen pads evenly and by at most half the window; anything else is padded explicitly.
  bool atenPads() const { return top == bottom && left == right && top <= kernel[0] / 2 && left <= kernel[1] / 2; }
  std::vector<int64_t> atenPadding() const { return atenPads() ? std::vector<int64_t>{top, left} : std::vector<int64_t>{0, 0}; }
  std::vector<int64_t> nhwcPad() const { return {0, 0, left, right, top, bottom}; }
};

Window window(const Napi::Value& v) {
  auto p = ints(v);
  return {{p[0], p[1]}, {p[2], p[3]}, p[4], p[5], p[6], p[7]};
}

Tensor viewNCHW(const Tensor& x) { return nchw(x).contiguous(kChannelsLast); }

// The input as ATen pools it: padded explicitly (with `fill`) when ATen cannot pad it itself.
Tensor pooledInput(const Tensor& x, const Window& w, double fill) {
  return viewNCHW(w.atenPads() ? x : at::constant_pad_nd(x, w.nhwcPad(), fill));
}

Tensor cropPadding(const Tensor& dx, const Window& w, int64_t h, int64_t wd) {
  return w.atenPads() ? dx : dx.narrow(2, w.top, h).narrow(3, w.left, wd);
}

// How many real (unpadded) inputs each output window covers, for averages over explicitly padded inputs.
Tensor windowCounts(const Window& w, int64_t h, int64_t wd, const at::TensorOptions& opts) {
  auto ones = at::constant_pad_nd(at::ones({1, 1, h, wd}, opts), {w.left, w.right, w.top, w.bottom});
  return at::avg_pool2d(ones, w.kernel, w.stride, {0, 0}, false, true, 1);
}

}  // namespace

static Napi::Value maxPool(const Napi::CallbackInfo& info) {
  auto w = window(info[1]);
  return op1(info.Env(), {slotOf(info[0])}, [w](const TensorList& in) {
    auto x = pooledInput(in[0], w, -std::numeric_limits<double>::infinity());
    return nhwc(at::max_pool2d(x, w.kernel, w.stride, w.atenPadding()));
  });
}

// maxPoolGrad(dy, x, params): the gradient goes to the first maximum of each window, as in tfjs.
static Napi::Value maxPoolGrad(const Napi::CallbackInfo& info) {
  auto w = window(info[2]);
  return op1(info.Env(), {slotOf(info[0]), slotOf(info[1])}, [w](const TensorList& in) {
    const auto& input = in[1];
    auto x = pooledInput(input, w, -std::numeric_limits<double>::infinity());
    auto indices = std::get<1>(at::max_pool2d_with_indices(x, w.kernel, w.stride, w.atenPadding(), {1, 1}, false));
    auto dx = at::max_pool2d_with_indices_backward(viewNCHW(in[0]), x, w.kernel, w.stride, w.atenPadding(), {1, 1}, false, indices);
    return nhwc(cropPadding(dx, w, input.size(1), input.size(2)));
  });
}

static Napi::Value avgPool(const Napi::CallbackInfo& info) {
  auto w = window(info[1]);
  return op1(info.Env(), {slotOf(info[0])}, [w](const TensorList& in) {
    const auto& input = in[0];
    auto x = pooledInput(input, w, 0);
    if (w.atenPads()) return nhwc(at::avg_pool2d(x, w.kernel, w.stride, w.atenPadding(), false, false));
    auto sums = at::avg_pool2d(x, w.kernel, w.stride, {0, 0}, false, true, 1);
    return nhwc(sums / windowCounts(w, input.size(1), input.size(2), input.options()));
  });
}

// avgPoolGrad(dy, x, params): tfjs's AvgPoolGrad divides by the whole window even where the forward pool left the
// padding out; matched, so every backend computes the same gradient.
static Napi::Value avgPoolGrad(const Napi::CallbackInfo& info) {
  auto w = window(info[2]);
  return op1(info.Env(), {slotOf(info[0]), slotOf(info[1])}, [w](const TensorList& in) {
    const auto& input = in[1];
    auto dy = viewNCHW(in[0]);
    int64_t h = input.size(1), wd = input.size(2);
    auto x = w.atenPads() ? viewNCHW(input)
                          : at::empty({input.size(0), input.size(3), h + w.top + w.bottom, wd + w.left + w.right},
                                      input.options().memory_format(kChannelsLast));
    auto dx = at::avg_pool2d_backward(dy, x, w.kernel, w.stride, w.atenPadding(), false, true, w.kernel[0] * w.kernel[1]);
    return nhwc(cropPadding(dx, w, h, wd));
  });
}

void registerPool(Napi::Env env, Napi::Object exports) {
  define(env, exports, "maxPool", maxPool);
  define(env, exports, "maxPoolGrad", maxPoolGrad);
  define(env, exports, "avgPool", avgPool);
  define(env, exports, "avgPoolGrad", avgPoolGrad);
}

}  // namespace epsilab
