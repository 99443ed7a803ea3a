// Native ops over tensor slots, and the capture of a sequence of them into a program that replays without JavaScript.
#pragma once
#include "tensors.h"

namespace epsilab {

using TensorList = std::vector<at::Tensor>;
// One native op with its attributes bound: a pure function of its input tensors.
using OpFn = std::function<TensorList(const TensorList&)>;

// The slot number a JavaScript handle names (checked live).
int32_t slotOf(const Napi::Value& v);
std::vector<int32_t> slotsOf(const Napi::Value& list);

// Runs an op on the tensors in `inputs` and stores its results; while a capture is recording, the op is appended to it.
Napi::Value runOp(Napi::Env env, const std::vector<int32_t>& inputs, OpFn fn, bool single);

// One half of a convolution's gradient (the input's, from dy and the filter; or the filter's, from x and dy), with the
// convolution it belongs to: a captured program merges the two halves of one convolution into one native call.
struct ConvGradHalf {
  bool filter;
  std::vector<int64_t> params, xShape, filterShape;

  bool sameConv(const ConvGradHalf& o) const { return params == o.params && xShape == o.xShape && filterShape == o.filterShape; }
};

// Runs a convolution gradient half as runOp runs a single-output op, telling the capture which half it is.
Napi::Value convGradOp(Napi::Env env, const std::vector<int32_t>& inputs, OpFn fn, ConvGradHalf half);

// Both halves of a convolution's gradient in one call: inputs (x, dy, filter), outputs (dx, dfilter); in conv.cc.
OpFn convGradBoth(const ConvGradHalf& conv);

template <typename F>
Napi::Value op1(Napi::Env env, const std::vector<int32_t>& inputs, F f) {
  return runOp(env, inputs, [f](const TensorList& in) { return TensorList{f(in)}; }, true);
}

template <typename F>
Napi::Value opN(Napi::Env env, const std::vector<int32_t>& inputs, F f) {
  return runOp(env, inputs, [f](const TensorList& in) { return TensorList(f(in)); }, false);
}

// Told by the slot table: a slot was emptied, and a tensor's values were copied to the host.
void captureForget(int32_t slot);
void captureHostRead();

void registerCapture(Napi::Env env, Napi::Object exports);

}  // namespace epsilab
