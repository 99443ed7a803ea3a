// Convolutions on NHWC data through channels-last NCHW views, forward and both gradients, depthwise included.
#include "capture.h"

#include <unordered_map>

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
Geometry geometry(const std::vector<int64_t>& p) {
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
Tensor convertFilter(const Tensor& w, const Geometry& g) {
  if (g.depthwise) return w.permute({2, 3, 0, 1}).reshape({w.size(2) * w.size(3), 1, w.size(0), w.size(1)}).contiguous(g.format());
  return w.permute({3, 2, 0, 1}).contiguous(g.format());
}

// A filter's ATen copy, made by its forward convolution and reused by its gradient in the same step (a filter is a
// variable: every step has a new tensor). An entry holds its filter weakly, so a freed filter's address cannot be
// taken for another's; entries of freed filters go at the next insert. Not on a GPU, where a CUDA graph's replays
// change the filters in place without running this code.
struct CachedFilter {
  c10::weak_intrusive_ptr<c10::TensorImpl> source;
  uint32_t version;
  bool depthwise, channelsFirst;
  Tensor converted;
};
std::unordered_map<const c10::TensorImpl*, CachedFilter> filterCache;

Tensor filterToATen(const Tensor& w, const Geometry& g) {
  if (!w.device().is_cpu()) return convertFilter(w, g);
  auto it = filterCache.find(w.unsafeGetTensorImpl());
  if (it != filterCache.end()) {
    const auto& c = it->second;
    auto alive = c.source.lock();
    if (alive.get() == w.unsafeGetTensorImpl() && c.version == w._version() && c.depthwise == g.depthwise &&
        c.channelsFirst == g.channelsFirst)
      return c.converted;
  }
  for (auto e = filterCache.begin(); e != filterCache.end();) e = e->second.source.expired() ? filterCache.erase(e) : std::next(e);
  auto converted = convertFilter(w, g);
  filterCache.insert_or_assign(w.unsafeGetTensorImpl(), CachedFilter{c10::weak_intrusive_ptr<c10::TensorImpl>(w.getIntrusivePtr()), w._version(), g.depthwise, g.channelsFirst, converted});
  return converted;
}

std::vector<int64_t> atenFilterShape(const std::vector<int64_t>& hwio, const Geometry& g) {
  if (g.depthwise) return {hwio[2] * hwio[3], 1, hwio[0], hwio[1]};
  return {hwio[3], hwio[2], hwio[0], hwio[1]};
}

Tensor filterFromATen(const Tensor& w, const std::vector<int64_t>& hwio, const Geometry& g) {
  if (g.depthwise) return w.reshape({hwio[2], hwio[3], hwio[0], hwio[1]}).permute({2, 3, 0, 1}).contiguous();
  return w.permute({2, 3, 1, 0}).contiguous();
}

// The input's shape as ATen sees it, TF's uneven padding included: [n, c, h, w].
std::vector<int64_t> paddedInputShape(const std::vector<int64_t>& s, const Geometry& g) {
  int64_t c = g.channelsFirst ? s[1] : s[3], h = g.channelsFirst ? s[2] : s[1], w = g.channelsFirst ? s[3] : s[2];
  return {s[0], c, h + g.extraTop + g.extraBottom, w + g.extraLeft + g.extraRight};
}

// dx (in ATen's layout, TF's uneven padding cropped away) to tfjs's.
Tensor inputGradFromATen(Tensor dx, const std::vector<int64_t>& s, const Geometry& g) {
  if (g.uneven()) dx = dx.narrow(2, g.extraTop, g.channelsFirst ? s[2] : s[1]).narrow(3, g.extraLeft, g.channelsFirst ? s[3] : s[2]);
  return fromNCHW(dx, g);
}

// A strided unpadded 1x1 filter sees only every stride-th input, so its gradient is taken over those with stride 1:
// oneDNN 2.6's own strided 1x1 weight gradient on small channels-last inputs gives wrong values (and can corrupt the
// heap), as Debian's PyTorch 1.13 shows too.
bool subsampled(const std::vector<int64_t>& hwio, const Geometry& g) {
  return hwio[0] == 1 && hwio[1] == 1 && !g.uneven() && g.padding[0] == 0 && g.padding[1] == 0 && (g.stride[0] > 1 || g.stride[1] > 1);
}

// The input's gradient (where `dx`) and the filter's (where `dw`) from x (in ATen's layout, padded), dy and the filter.
std::pair<Tensor, Tensor> convBackward(const Tensor& x, const Tensor& dy, const Tensor& w, const Geometry& g, bool dx, bool dw) {
  int64_t groups = g.depthwise ? x.size(1) : 1;
  auto both = at::convolution_backward(dy, x, w, kNone, g.stride, g.padding, g.dilation, false, {0, 0}, groups, {dx, dw, false});
  return {std::get<0>(both), std::get<1>(both)};
}

Tensor filterGrad(Tensor x, const Tensor& dy, const std::vector<int64_t>& hwio, const Geometry& g) {
  auto geometry = g;
  if (subsampled(hwio, g)) {
    x = x.slice(2, 0, kNone, g.stride[0]).slice(3, 0, kNone, g.stride[1]).contiguous(g.format());
    geometry.stride = {1, 1};
  }
  auto placeholder = at::empty(atenFilterShape(hwio, g), optionsFor(x.scalar_type()).memory_format(g.format()));
  return filterFromATen(convBackward(x, dy, placeholder, geometry, false, true).second, hwio, g);
}

}  // namespace

// conv2d(x, filter, params)
static Napi::Value conv2d(const Napi::CallbackInfo& info) {
  auto g = geometry(ints(info[2]));
  return op1(info.Env(), {slotOf(info[0]), slotOf(info[1])}, [g](const TensorList& in) {
    auto x = toNCHW(padUneven(in[0], g), g);
    auto w = filterToATen(in[1], g);
    auto y = at::convolution(x, w, kNone, g.stride, g.padding, g.dilation, false, {0, 0}, g.depthwise ? x.size(1) : 1);
    return fromNCHW(y, g);
  });
}

// conv2dBackpropInput(dy, filter, inputShape, params): the input is only a shape, so ATen gets an empty placeholder.
static Napi::Value conv2dBackpropInput(const Napi::CallbackInfo& info) {
  ConvGradHalf half{false, ints(info[3]), ints(info[2]), tensorAt(slotOf(info[1])).sizes().vec()};
  auto g = geometry(half.params);
  auto s = half.xShape;
  return convGradOp(info.Env(), {slotOf(info[0]), slotOf(info[1])}, [g, s](const TensorList& in) {
    auto dy = toNCHW(in[0], g);
    auto w = filterToATen(in[1], g);
    auto placeholder = at::empty(paddedInputShape(s, g), optionsFor(dy.scalar_type()).memory_format(g.format()));
    return TensorList{inputGradFromATen(convBackward(placeholder, dy, w, g, true, false).first, s, g)};
  }, half);
}

// conv2dBackpropFilter(x, dy, filterShape, params).
static Napi::Value conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  ConvGradHalf half{true, ints(info[3]), tensorAt(slotOf(info[0])).sizes().vec(), ints(info[2])};
  auto g = geometry(half.params);
  auto hwio = half.filterShape;
  return convGradOp(info.Env(), {slotOf(info[0]), slotOf(info[1])}, [g, hwio](const TensorList& in) {
    return TensorList{filterGrad(toNCHW(padUneven(in[0], g), g), toNCHW(in[1], g), hwio, g)};
  }, half);
}

OpFn convGradBoth(const ConvGradHalf& conv) {
  auto g = geometry(conv.params);
  auto s = conv.xShape;
  auto hwio = conv.filterShape;
  return [g, s, hwio](const TensorList& in) {
    auto x = toNCHW(padUneven(in[0], g), g);
    auto dy = toNCHW(in[1], g);
    auto w = filterToATen(in[2], g);
    if (subsampled(hwio, g)) {
      auto placeholder = at::empty(paddedInputShape(s, g), optionsFor(dy.scalar_type()).memory_format(g.format()));
      return TensorList{inputGradFromATen(convBackward(placeholder, dy, w, g, true, false).first, s, g), filterGrad(x, dy, hwio, g)};
    }
    auto [dx, dw] = convBackward(x, dy, w, g, true, true);
    return TensorList{inputGradFromATen(dx, s, g), filterFromATen(dw, hwio, g)};
  };
}

void registerConv(Napi::Env env, Napi::Object exports) {
  define(env, exports, "conv2d", conv2d);
  define(env, exports, "conv2dBackpropInput", conv2dBackpropInput);
  define(env, exports, "conv2dBackpropFilter", conv2dBackpropFilter);
}

}  // namespace epsilab
