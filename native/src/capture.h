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
