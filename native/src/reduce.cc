// Reductions, arg-max/min, top-k, softmax and cumulative sums.
#include <algorithm>

#include "capture.h"

namespace epsilab {

using at::Tensor;
using ReduceFn = Tensor (*)(const Tensor&, at::IntArrayRef, bool);

// Reduces one axis at a time, last first, for ATen ops that take a single dim.
template <typename F>
static Tensor perAxis(const Tensor& x, at::IntArrayRef axes, bool keep, F f) {
  std::vector<int64_t> sorted(axes.begin(), axes.end());
  std::sort(sorted.rbegin(), sorted.rend());
  Tensor out = x;
  for (auto a : sorted) out = f(out, a, keep);
  return out;
}

static at::ScalarType accumulated(const Tensor& x) { return x.is_floating_point() ? x.scalar_type() : at::kInt; }

struct ReduceOp { const char* name; ReduceFn fn; };

static const ReduceOp reduceOps[] = {
    {"Sum", [](const Tensor& x, at::IntArrayRef axes, bool keep) { return at::sum(x, axes, keep, accumulated(x)); }},
    {"Mean", [](const Tensor& x, at::IntArrayRef axes, bool keep) { return at::mean(x.is_floating_point() ? x : x.to(at::kFloat), axes, keep); }},
    {"Max", [](const Tensor& x, at::IntArrayRef axes, bool keep) { return at::amax(x, axes, keep); }},
    {"Min", [](const Tensor& x, at::IntArrayRef axes, bool keep) { return at::amin(x, axes, keep); }},
    {"Prod", [](const Tensor& x, at::IntArrayRef axes, bool keep) {
       auto type = accumulated(x);
       return perAxis(x, axes, keep, [type](const Tensor& t, int64_t a, bool k) { return at::prod(t, a, k, type); });
     }},
    {"Any", [](const Tensor& x, at::IntArrayRef axes, bool keep) {
       return perAxis(x.to(at::kBool), axes, keep, [](const Tensor& t, int64_t a, bool k) { return at::any(t, a, k); });
     }},
    {"All", [](const Tensor& x, at::IntArrayRef axes, bool keep) {
       return perAxis(x.to(at::kBool), axes, keep, [](const Tensor& t, int64_t a, bool k) { return at::all(t, a, k); });
     }},
};

static Napi::Value reduceNames(const Napi::Env& env) {
  constexpr size_t n = sizeof(reduceOps) / sizeof(reduceOps[0]);
  auto out = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; i++) out.Set(i, reduceOps[i].name);
  return out;
}

// reduce(code, x, axes, keepDims): an empty axis list is the identity, as in tfjs (ATen would reduce everything).
static Napi::Value reduce(const Napi::CallbackInfo& info) {
  uint32_t code = info[0].As<Napi::Number>().Uint32Value();
  if (code >= sizeof(reduceOps) / sizeof(reduceOps[0])) throw std::invalid_argument("unknown reduction");
  auto fn = reduceOps[code].fn;
  auto axes = ints(info[2]);
  bool keep = info[3].As<Napi::Boolean>().Value();
  return op1(info.Env(), {slotOf(info[1])}, [fn, axes, keep](const TensorList& in) {
    return axes.empty() ? fn(in[0].unsqueeze(0), {0}, false) : fn(in[0], axes, keep);
  });
}

// argReduce(x, axis, isMax)
static Napi::Value argReduce(const Napi::CallbackInfo& info) {
  int64_t axis = info[1].As<Napi::Number>().Int64Value();
  bool isMax = info[2].As<Napi::Boolean>().Value();
  return op1(info.Env(), {slotOf(info[0])}, [axis, isMax](const TensorList& in) { return isMax ? at::argmax(in[0], axis) : at::argmin(in[0], axis); });
}

// topk(x, k, sorted) -> [values, indices] along the last axis.
static Napi::Value topk(const Napi::CallbackInfo& info) {
  int64_t k = info[1].As<Napi::Number>().Int64Value();
  bool sorted = info[2].As<Napi::Boolean>().Value();
  return opN(info.Env(), {slotOf(info[0])}, [k, sorted](const TensorList& in) {
    auto [values, indices] = at::topk(in[0], k, -1, true, sorted);
    return TensorList{values, indices};
  });
}

static Napi::Value softmax(const Napi::CallbackInfo& info) {
  int64_t dim = info[1].As<Napi::Number>().Int64Value();
  return op1(info.Env(), {slotOf(info[0])}, [dim](const TensorList& in) { return at::softmax(in[0], dim); });
}

// cumsum(x, axis, exclusive, reverse)
static Napi::Value cumsum(const Napi::CallbackInfo& info) {
  int64_t axis = info[1].As<Napi::Number>().Int64Value();
  bool exclusive = info[2].As<Napi::Boolean>().Value();
  bool reverse = info[3].As<Napi::Boolean>().Value();
  return op1(info.Env(), {slotOf(info[0])}, [axis, exclusive, reverse](const TensorList& in) {
    Tensor x = reverse ? in[0].flip(axis) : in[0];
    Tensor out = at::cumsum(x, axis, accumulated(x));
    if (exclusive && x.size(axis) > 0) {
      out = at::cat({at::zeros_like(out.narrow(axis, 0, 1)), out.narrow(axis, 0, x.size(axis) - 1)}, axis);
    }
    return reverse ? out.flip(axis) : out;
  });
}

void registerReduce(Napi::Env env, Napi::Object exports) {
  exports.Set("reduceOps", reduceNames(env));
  define(env, exports, "reduce", reduce);
  define(env, exports, "argReduce", argReduce);
  define(env, exports, "topk", topk);
  define(env, exports, "softmax", softmax);
  define(env, exports, "cumsum", cumsum);
}

}  // namespace epsilab
