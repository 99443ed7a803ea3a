// Element-wise kernels. The op tables are the one list of names: JavaScript reads them to register kernels.
#include <ATen/Parallel.h>

#include "capture.h"

namespace epsilab {

using at::Tensor;
using UnaryFn = Tensor (*)(const Tensor&, double, double);
using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);

struct UnaryOp { const char* name; UnaryFn fn; };

// tfjs's step: 1 where x > 0, alpha elsewhere, NaN kept. One pass on CPU floats (it is half of every ReLU gradient).
static Tensor step(const Tensor& x, double alpha, double) {
  if (!x.device().is_cpu() || x.scalar_type() != at::kFloat) {
    return at::where(at::isnan(x), x, at::where(x > 0, at::Scalar(1.0), at::Scalar(alpha)).to(x.scalar_type()));
  }
  auto in = x.contiguous();
  auto out = at::empty_like(in);
  const float* src = in.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  float a = static_cast<float>(alpha);
  at::parallel_for(0, in.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      float v = src[i];
      float r = v > 0.0f ? 1.0f : a;
      dst[i] = v != v ? v : r;  // branch-free, so the loop vectorises
    }
  });
  return out;
}
struct BinaryOp { const char* name; BinaryFn fn; };

// Unary kernels by tfjs kernel name; a and b carry the kernel's numeric attributes (alpha, clip bounds).
static const UnaryOp unaryOps[] = {
    {"Abs", [](const Tensor& x, double, double) { return at::abs(x); }},
    {"Acos", [](const Tensor& x, double, double) { return at::acos(x); }},
    {"Acosh", [](const Tensor& x, double, double) { return at::acosh(x); }},
    {"Asin", [](const Tensor& x, double, double) { return at::asin(x); }},
    {"Asinh", [](const Tensor& x, double, double) { return at::asinh(x); }},
    {"Atan", [](const Tensor& x, double, double) { return at::atan(x); }},
    {"Atanh", [](const Tensor& x, double, double) { return at::atanh(x); }},
    {"Ceil", [](const Tensor& x, double, double) { return at::ceil(x); }},
    {"ClipByValue", [](const Tensor& x, double lo, double hi) { return at::clamp(x, lo, hi); }},
    {"Cos", [](const Tensor& x, double, double) { return at::cos(x); }},
    {"Cosh", [](const Tensor& x, double, double) { return at::cosh(x); }},
    {"Elu", [](const Tensor& x, double, double) { return at::elu(x); }},
    {"Erf", [](const Tensor& x, double, double) { return at::erf(x); }},
    {"Exp", [](const Tensor& x, double, double) { return at::exp(x); }},
    {"Expm1", [](const Tensor& x, double, double) { return at::expm1(x); }},
    {"Floor", [](const Tensor& x, double, double) { return at::floor(x); }},
    {"IsFinite", [](const Tensor& x, double, double) { return at::isfinite(x); }},
    {"IsInf", [](const Tensor& x, double, double) { return at::isinf(x); }},
    {"IsNan", [](const Tensor& x, double, double) { return at::isnan(x); }},
    {"LeakyRelu", [](const Tensor& x, double alpha, double) { return at::leaky_relu(x, alpha); }},
    {"Log", [](const Tensor& x, double, double) { return at::log(x); }},
    {"Log1p", [](const Tensor& x, double, double) { return at::log1p(x); }},
    {"LogicalNot", [](const Tensor& x, double, double) { return at::logical_not(x); }},
    {"Neg", [](const Tensor& x, double, double) { return at::neg(x); }},
    {"Reciprocal", [](const Tensor& x, double, double) { return at::reciprocal(x); }},
    {"Relu", [](const Tensor& x, double, double) { return at::relu(x); }},
    {"Relu6", [](const Tensor& x, double, double) { return at::clamp(x, 0, 6); }},
    {"Round", [](const Tensor& x, double, double) { return at::round(x); }},
    {"Rsqrt", [](const Tensor& x, double, double) { return at::rsqrt(x); }},
    {"Selu", [](const Tensor& x, double, double) { return at::selu(x); }},
    {"Sigmoid", [](const Tensor& x, double, double) { return at::sigmoid(x); }},
    {"Sign", [](const Tensor& x, double, double) { return at::sign(x); }},
    {"Sin", [](const Tensor& x, double, double) { return at::sin(x); }},
    {"Sinh", [](const Tensor& x, double, double) { return at::sinh(x); }},
    {"Softplus", [](const Tensor& x, double, double) { return at::softplus(x); }},
    {"Sqrt", [](const Tensor& x, double, double) { return at::sqrt(x); }},
    {"Square", [](const Tensor& x, double, double) { return at::square(x); }},
    {"Step", step},
    {"Tan", [](const Tensor& x, double, double) { return at::tan(x); }},
    {"Tanh", [](const Tensor& x, double, double) { return at::tanh(x); }},
};

static const BinaryOp binaryOps[] = {
    {"Add", [](const Tensor& a, const Tensor& b) { return at::add(a, b); }},
    {"EluGrad", [](const Tensor& dy, const Tensor& y) { return at::where(y < 0, dy * (y + 1), dy); }},
    {"Atan2", [](const Tensor& a, const Tensor& b) { return at::atan2(a, b); }},
    {"Equal", [](const Tensor& a, const Tensor& b) { return at::eq(a, b); }},
    {"FloorDiv", [](const Tensor& a, const Tensor& b) { return at::div(a, b, "floor"); }},
    {"Greater", [](const Tensor& a, const Tensor& b) { return at::gt(a, b); }},
    {"GreaterEqual", [](const Tensor& a, const Tensor& b) { return at::ge(a, b); }},
    {"Less", [](const Tensor& a, const Tensor& b) { return at::lt(a, b); }},
    {"LessEqual", [](const Tensor& a, const Tensor& b) { return at::le(a, b); }},
    {"LogicalAnd", [](const Tensor& a, const Tensor& b) { return at::logical_and(a, b); }},
    {"LogicalOr", [](const Tensor& a, const Tensor& b) { return at::logical_or(a, b); }},
    {"Maximum", [](const Tensor& a, const Tensor& b) { return at::maximum(a, b); }},
    {"Minimum", [](const Tensor& a, const Tensor& b) { return at::minimum(a, b); }},
    {"Mod", [](const Tensor& a, const Tensor& b) { return at::remainder(a, b); }},
    {"Multiply", [](const Tensor& a, const Tensor& b) { return at::mul(a, b); }},
    {"NotEqual", [](const Tensor& a, const Tensor& b) { return at::ne(a, b); }},
    {"Pow", [](const Tensor& a, const Tensor& b) { return at::pow(a, b); }},
    {"Prelu", [](const Tensor& x, const Tensor& alpha) { return at::where(x < 0, x * alpha, x); }},
    {"RealDiv", [](const Tensor& a, const Tensor& b) { return at::div(a, b); }},
    {"SquaredDifference", [](const Tensor& a, const Tensor& b) { return at::square(a - b); }},
    {"Sub", [](const Tensor& a, const Tensor& b) { return at::sub(a, b); }},
};

template <typename Op, size_t N>
static Napi::Value names(Napi::Env env, const Op (&ops)[N]) {
  auto out = Napi::Array::New(env, N);
  for (size_t i = 0; i < N; i++) out.Set(i, ops[i].name);
  return out;
}

template <typename Op, size_t N>
static const Op& pick(const Op (&ops)[N], const Napi::Value& code) {
  uint32_t i = code.As<Napi::Number>().Uint32Value();
  if (i >= N) throw std::invalid_argument("unknown op code");
  return ops[i];
}

// unary(code, x, a, b)
static Napi::Value unary(const Napi::CallbackInfo& info) {
  auto fn = pick(unaryOps, info[0]).fn;
  double a = num(info[2]), b = num(info[3]);
  return op1(info.Env(), {slotOf(info[1])}, [fn, a, b](const TensorList& in) { return fn(in[0], a, b); });
}

// binary(code, a, b, outDtypeCode): tfjs decides the result dtype, ATen's promotion is corrected to it.
static Napi::Value binary(const Napi::CallbackInfo& info) {
  auto fn = pick(binaryOps, info[0]).fn;
  auto type = scalarTypeOf(info[3].As<Napi::Number>().Int32Value());
  return op1(info.Env(), {slotOf(info[1]), slotOf(info[2])}, [fn, type](const TensorList& in) {
    auto out = fn(in[0], in[1]);
    return out.scalar_type() == type ? out : out.to(type);
  });
}

static Napi::Value cast(const Napi::CallbackInfo& info) {
  auto type = scalarTypeOf(info[1].As<Napi::Number>().Int32Value());
  return op1(info.Env(), {slotOf(info[0])}, [type](const TensorList& in) { return in[0].to(type); });
}

// select(condition, a, b, outDtypeCode)
static Napi::Value select(const Napi::CallbackInfo& info) {
  auto type = scalarTypeOf(info[3].As<Napi::Number>().Int32Value());
  return op1(info.Env(), {slotOf(info[0]), slotOf(info[1]), slotOf(info[2])},
             [type](const TensorList& in) { return at::where(in[0].to(at::kBool), in[1].to(type), in[2].to(type)); });
}

// reluGrad(dy, x): dy·step(x), the ReLU gradient, in one pass on CPU floats where the separate step and multiply
// take two (the same float products, so the values equal tfjs's own gradient's).
static Napi::Value reluGrad(const Napi::CallbackInfo& info) {
  return op1(info.Env(), {slotOf(info[0]), slotOf(info[1])}, [](const TensorList& in) {
    const auto& dy = in[0];
    const auto& x = in[1];
    if (!x.device().is_cpu() || x.scalar_type() != at::kFloat || dy.scalar_type() != at::kFloat || !dy.sizes().equals(x.sizes())) {
      return at::mul(dy, step(x, 0, 0));
    }
    auto g = dy.contiguous(), v = x.contiguous();
    auto out = at::empty_like(g);
    const float* gs = g.data_ptr<float>();
    const float* xs = v.data_ptr<float>();
    float* dst = out.data_ptr<float>();
    at::parallel_for(0, g.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++) {
        float xi = xs[i];
        float r = xi > 0.0f ? 1.0f : 0.0f;
        dst[i] = gs[i] * (xi != xi ? xi : r);
      }
    });
    return out;
  });
}

static Napi::Value addN(const Napi::CallbackInfo& info) {
  return op1(info.Env(), slotsOf(info[0]), [](const TensorList& in) {
    auto sum = in[0].clone();
    for (size_t i = 1; i < in.size(); i++) sum.add_(in[i]);
    return sum;
  });
}

// fill(shape, value, dtypeCode): one stored element broadcast to the shape, so big constants cost nothing.
static Napi::Value fill(const Napi::CallbackInfo& info) {
  auto type = scalarTypeOf(info[2].As<Napi::Number>().Int32Value());
  auto shape = ints(info[0]);
  double value = num(info[1]);
  return op1(info.Env(), {}, [type, shape, value](const TensorList&) { return at::full({}, value, optionsFor(type)).expand(shape); });
}

// range(count, start, step, dtypeCode): start + step * i, computed in double for exact integer ranges.
static Napi::Value range(const Napi::CallbackInfo& info) {
  auto type = scalarTypeOf(info[3].As<Napi::Number>().Int32Value());
  int64_t count = info[0].As<Napi::Number>().Int64Value();
  double start = num(info[1]), step = num(info[2]);
  return op1(info.Env(), {}, [type, count, start, step](const TensorList&) {
    return (at::arange(count, optionsFor(at::kDouble)) * step + start).to(type);
  });
}

void registerElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("unaryOps", names(env, unaryOps));
  exports.Set("binaryOps", names(env, binaryOps));
  define(env, exports, "unary", unary);
  define(env, exports, "binary", binary);
  define(env, exports, "cast", cast);
  define(env, exports, "select", select);
  define(env, exports, "addN", addN);
  define(env, exports, "reluGrad", reluGrad);
  define(env, exports, "fill", fill);
  define(env, exports, "range", range);
}

}  // namespace epsilab
