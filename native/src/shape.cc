// Kernels that move data without arithmetic: views where strides allow, copies where they must.
#include "capture.h"

namespace epsilab {

using at::Tensor;

static int64_t int64(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }

static Napi::Value transpose(const Napi::CallbackInfo& info) {
  auto perm = ints(info[1]);
  return op1(info.Env(), {slotOf(info[0])}, [perm](const TensorList& in) { return in[0].permute(perm); });
}

// slice(x, begin, size) with sizes already resolved.
static Napi::Value slice(const Napi::CallbackInfo& info) {
  auto begin = ints(info[1]);
  auto size = ints(info[2]);
  return op1(info.Env(), {slotOf(info[0])}, [begin, size](const TensorList& in) {
    Tensor x = in[0];
    for (size_t d = 0; d < begin.size(); d++) x = x.narrow(d, begin[d], size[d]);
    return x;
  });
}

// stridedSlice(x, begin, strides, sizes): output[c] = x[begin + c * stride] along every axis.
static Napi::Value stridedSlice(const Napi::CallbackInfo& info) {
  auto begin = ints(info[1]);
  auto strides = ints(info[2]);
  auto sizes = ints(info[3]);
  return op1(info.Env(), {slotOf(info[0])}, [begin, strides, sizes](const TensorList& in) {
    Tensor x = in[0];
    for (size_t d = 0; d < begin.size(); d++) {
      if (sizes[d] == 0) {
        x = x.narrow(d, 0, 0);
      } else if (strides[d] > 0) {
        x = x.slice(d, begin[d], begin[d] + (sizes[d] - 1) * strides[d] + 1, strides[d]);
      } else {
        auto index = at::arange(begin[d], begin[d] + sizes[d] * strides[d], strides[d], optionsFor(at::kLong));
        x = x.index_select(d, index);
      }
    }
    return x;
  });
}

// pad(x, [before0, after0, before1, ...], value)
static Napi::Value pad(const Napi::CallbackInfo& info) {
  auto flat = ints(info[1]);
  double value = num(info[2]);
  return op1(info.Env(), {slotOf(info[0])}, [flat, value](const TensorList& in) {
    std::vector<int64_t> reversed;
    for (int64_t d = in[0].dim() - 1; d >= 0; d--) {
      reversed.push_back(flat[2 * d]);
      reversed.push_back(flat[2 * d + 1]);
    }
    return at::constant_pad_nd(in[0], reversed, value);
  });
}

// mirrorPad(x, [before0, after0, ...], symmetric): reflects without ('reflect') or with ('symmetric') the edge.
static Napi::Value mirrorPad(const Napi::CallbackInfo& info) {
  auto flat = ints(info[1]);
  int64_t offset = info[2].As<Napi::Boolean>().Value() ? 1 : 0;
  return op1(info.Env(), {slotOf(info[0])}, [flat, offset](const TensorList& in) {
    Tensor x = in[0];
    for (int64_t d = 0; d < x.dim(); d++) {
      int64_t before = flat[2 * d], after = flat[2 * d + 1], size = x.size(d);
      if (before == 0 && after == 0) continue;
      std::vector<int64_t> index;
      for (int64_t o = -before; o < size + after; o++) {
        index.push_back(o < 0 ? -o - offset : o >= size ? 2 * (size - 1) - o + offset : o);
      }
      x = x.index_select(d, at::tensor(index, at::kLong).to(currentDevice()));
    }
    return x;
  });
}

static Napi::Value concat(const Napi::CallbackInfo& info) {
  int64_t axis = int64(info[1]);
  return op1(info.Env(), slotsOf(info[0]), [axis](const TensorList& in) { return at::cat(in, axis); });
}

static Napi::Value stack(const Napi::CallbackInfo& info) {
  int64_t axis = int64(info[1]);
  return op1(info.Env(), slotsOf(info[0]), [axis](const TensorList& in) { return at::stack(in, axis); });
}

static Napi::Value unstack(const Napi::CallbackInfo& info) {
  int64_t axis = int64(info[1]);
  return opN(info.Env(), {slotOf(info[0])}, [axis](const TensorList& in) { return at::unbind(in[0], axis); });
}

static Napi::Value split(const Napi::CallbackInfo& info) {
  auto sizes = ints(info[1]);
  int64_t axis = int64(info[2]);
  return opN(info.Env(), {slotOf(info[0])}, [sizes, axis](const TensorList& in) { return at::split_with_sizes(in[0], sizes, axis); });
}

// tile(x, reps): repeating size-1 axes is a broadcast view (tfjs's batch-norm gradient tiles per-channel factors).
static Napi::Value tile(const Napi::CallbackInfo& info) {
  auto reps = ints(info[1]);
  return op1(info.Env(), {slotOf(info[0])}, [reps](const TensorList& in) {
    const auto& x = in[0];
    bool broadcast = true;
    std::vector<int64_t> shape(x.dim());
    for (int64_t d = 0; d < x.dim(); d++) {
      if (reps[d] != 1 && x.size(d) != 1) broadcast = false;
      shape[d] = x.size(d) * reps[d];
    }
    return broadcast ? x.expand(shape) : x.repeat(reps);
  });
}

// gather(x, indices, axis): out shape is x.shape[:axis] + indices.shape + x.shape[axis+1:].
static Napi::Value gather(const Napi::CallbackInfo& info) {
  int64_t axis = int64(info[2]);
  return op1(info.Env(), {slotOf(info[0]), slotOf(info[1])}, [axis](const TensorList& in) {
    const auto& x = in[0];
    const auto& indices = in[1];
    auto picked = x.index_select(axis, indices.reshape({-1}).to(at::kLong));
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().begin() + axis);
    shape.insert(shape.end(), indices.sizes().begin(), indices.sizes().end());
    shape.insert(shape.end(), x.sizes().begin() + axis + 1, x.sizes().end());
    return picked.reshape(shape);
  });
}

// oneHot(indices, depth, on, off, dtypeCode): out-of-range indices give a row of `off`, as in tfjs.
static Napi::Value oneHot(const Napi::CallbackInfo& info) {
  int64_t depth = int64(info[1]);
  double on = num(info[2]), off = num(info[3]);
  auto type = scalarTypeOf(info[4].As<Napi::Number>().Int32Value());
  return op1(info.Env(), {slotOf(info[0])}, [depth, on, off, type](const TensorList& in) {
    auto mask = in[0].unsqueeze(-1) == at::arange(depth, optionsFor(at::kInt));
    return at::where(mask, at::Scalar(on), at::Scalar(off)).to(type);
  });
}

static Napi::Value reverse(const Napi::CallbackInfo& info) {
  auto dims = ints(info[1]);
  return op1(info.Env(), {slotOf(info[0])}, [dims](const TensorList& in) { return in[0].flip(dims); });
}

void registerShape(Napi::Env env, Napi::Object exports) {
  define(env, exports, "transpose", transpose);
  define(env, exports, "slice", slice);
  define(env, exports, "stridedSlice", stridedSlice);
  define(env, exports, "pad", pad);
  define(env, exports, "mirrorPad", mirrorPad);
  define(env, exports, "concat", concat);
  define(env, exports, "stack", stack);
  define(env, exports, "unstack", unstack);
  define(env, exports, "split", split);
  define(env, exports, "tile", tile);
  define(env, exports, "gather", gather);
  define(env, exports, "oneHot", oneHot);
  define(env, exports, "reverse", reverse);
}

}  // namespace epsilab
