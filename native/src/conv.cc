// Convolutions on NHWC data through channels-last NCHW views, forward and both gradients, depthwise included.
#include "capture.h"

namespace epsilab {

using at::Tensor;

namespace {

// What tfjs's conv info says about one convolution; TF's uneven 'same' padding is split into the even part ATen
// takes and an extra that is padded onto the input.
struct Geometry {
  std::vector<int64_t> stride, dilation, padding;
  int64_t extraTop, extraBottom, extraLeft, extraRight;
  bool depthwise, channelsFirst;

  at::MemoryFormat format() const { return channelsFirst ? at::MemoryFormat::Contiguous : at::MemoryFormat::ChannelsLast; }
  bool uneven() const { return extraTop || extraBottom || extraLeft || extraRight; }
};

// params: [strideH, strideW, padTop, padBottom, padLeft, padRight, dilationH, dilationW, depthwise, channelsFirst]
Geometry geometry(const Napi::Value& v) {
  auto p = ints(v);
  int64_t padH = std::min(p[2], p[3]), padW = std::min(p[4], p[5]);
  return {{p[0], p[1]}, {p[6], p[7]}, {padH, padW}, p[2] - padH, p[3] - padH, p[4] - padW, p[5] - padW, p[8] != 0, p[9] != 0};
}

Tensor padUneven(const Tensor& x, const Geometry& g) {
  if (!g.uneven()) return x;
  if (g.channelsFirst) return at::constant_pad_nd(x, {g.extraLeft, g.extraRight, g.extraTop, g.extraBottom});
  return at::constant_pad_nd(x, {0, 0, g.extraLeft, g.extraRight, g.extraTop, g.extraBottom});
}

Tensor toNCHW(const Tensor& x, const Geometry& g) { return (g.channelsFirst ? x : nchw(x)).contiguous(g.format()); }
Tensor fromNCHW(const Tensor& y, const Geometry& g) { return g.channelsFirst ? y : nhwc(y); }

// tfjs filters are HWIO ([h, w, in, multiplier] when depthwise); ATen wants OIHW ([in * multiplier, 1, h, w]).
Tensor filterToATen(const Tensor& w, const Geometry& g) {
  if (g.depthwise) return w.permute({2, 3, 0, 1}).reshape({w.size(2) * w.size(3), 1, w.size(0), w.size(1)}).contiguous(g.format());
  return w.permute({3, 2, 0, 1}).contiguous(g.format());
}

std::vector<int64_t> atenFilterShape(const std::vector<int64_t>& hwio, const Geometry& g) {
  if (g.depthwise) return {hwio[2] * hwio[3], 1, hwio[0], hwio[1]};
  return {hwio[3], hwio[2], hwio[0], hwio[1]};
}

Tensor filterFromATen(const Tensor& w, const std::vector<int64_t>& hwio, const Geometry& g) {
  if (g.depthwise) return w.reshape({hwio[2], hwio[3], hwio[0], hwio[1]}).permute({2, 3, 0, 1}).contiguous();
  return w.permute({2, 3, 1, 0}).contiguous();
}

}  // namespace

// conv2d(x, filter, params)
static Napi::Value conv2d(const Napi::CallbackInfo& info) {
  auto g = geometry(info[2]);
  return op1(info.Env(), {slotOf(info[0]), slotOf(info[1])}, [g](const TensorList& in) {
    auto x = toNCHW(padUneven(in[0], g), g);
    auto w = filterToATen(in[1], g);
    auto y = at::convolution(x, w, kNone, g.stride, g.padding, g.dilation, false, {0, 0}, g.depthwise ? x.size(1) : 1);
    return fromNCHW(y, g);
  });
}

// conv2dBackpropInput(dy, filter, inputShape, params): the input is only a shape, so ATen gets an empty placeholder.
static Napi::Value conv2dBackpropInput(const Napi::CallbackInfo& info) {
  auto g = geometry(info[3]);
  auto s = ints(info[2]);
  return op1(info.Env(), {slotOf(info[0]), slotOf(info[1])}, [g, s](const TensorList& in) {
    auto dy = toNCHW(in[0], g);
    auto w = filterToATen(in[1], g);
    int64_t n = s[0], c = g.channelsFirst ? s[1] : s[3], h = g.channelsFirst ? s[2] : s[1], wd = g.channelsFirst ? s[3] : s[2];
    auto placeholder = at::empty({n, c, h + g.extraTop + g.extraBottom, wd + g.extraLeft + g.extraRight},
                                 optionsFor(dy.scalar_type()).memory_format(g.format()));
    auto dx = std::get<0>(at::convolution_backward(dy, placeholder, w, kNone, g.stride, g.padding, g.dilation, false,
                                                   {0, 0}, g.depthwise ? c : 1, {true, false, false}));
    if (g.uneven()) dx = dx.narrow(2, g.extraTop, h).narrow(3, g.extraLeft, wd);
    return fromNCHW(dx, g);
  });
}

// conv2dBackpropFilter(x, dy, filterShape, params). A strided unpadded 1x1 filter sees only every stride-th input, so
// its gradient is taken over those with stride 1: oneDNN 2.6's own strided 1x1 weight gradient on small channels-last
// inputs gives wrong values (and can corrupt the heap), as Debian's PyTorch 1.13 shows too.
static Napi::Value conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  auto g = geometry(info[3]);
  auto hwio = ints(info[2]);
  bool subsample = hwio[0] == 1 && hwio[1] == 1 && !g.uneven() && g.padding[0] == 0 && g.padding[1] == 0 && (g.stride[0] > 1 || g.stride[1] > 1);
  return op1(info.Env(), {slotOf(info[0]), slotOf(info[1])}, [g, hwio, subsample](const TensorList& in) {
    auto x = toNCHW(padUneven(in[0], g), g);
    auto stride = g.stride;
    if (subsample) {
      x = x.slice(2, 0, kNone, stride[0]).slice(3, 0, kNone, stride[1]).contiguous(g.format());
      stride = {1, 1};
    }
    auto dy = toNCHW(in[1], g);
    auto placeholder = at::empty(atenFilterShape(hwio, g), optionsFor(x.scalar_type()).memory_format(g.format()));
    auto dw = std::get<1>(at::convolution_backward(dy, x, placeholder, kNone, stride, g.padding, g.dilation, false,
                                                   {0, 0}, g.depthwise ? x.size(1) : 1, {false, true, false}));
    return filterFromATen(dw, hwio, g);
  });
}

void registerConv(Napi::Env env, Napi::Object exports) {
  define(env, exports, "conv2d", conv2d);
  define(env, exports, "conv2dBackpropInput", conv2dBackpropInput);
  define(env, exports, "conv2dBackpropFilter", conv2dBackpropFilter);
}

}  // namespace epsilab
