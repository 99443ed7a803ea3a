// Moving data between JavaScript and libtorch, and handle bookkeeping.
#include <cstring>

#include "tensors.h"

namespace epsilab {

// upload(typedArray, shape, dtypeCode) copies the values into a new tensor.
static Napi::Value upload(const Napi::CallbackInfo& info) {
  auto values = info[0].As<Napi::TypedArray>();
  auto shape = ints(info[1]);
  auto type = scalarTypeOf(info[2].As<Napi::Number>().Int32Value());
  auto* data = static_cast<uint8_t*>(values.ArrayBuffer().Data()) + values.ByteOffset();
  auto host = at::from_blob(data, shape, at::TensorOptions().dtype(type));
  if (static_cast<size_t>(host.nbytes()) != values.ByteLength()) throw std::invalid_argument("upload: size does not match shape");
  return wrap(info.Env(), currentDevice().is_cpu() ? host.clone() : host.to(currentDevice()));
}

// download(id) copies the values out in logical (row-major) order.
static Napi::Value download(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto t = tensorAt(info[0]).cpu().contiguous();
  auto bytes = static_cast<size_t>(t.nbytes());
  auto buffer = Napi::ArrayBuffer::New(env, bytes);
  if (bytes > 0) std::memcpy(buffer.Data(), t.data_ptr(), bytes);
  switch (t.scalar_type()) {
    case at::kFloat: return Napi::Float32Array::New(env, t.numel(), buffer, 0);
    case at::kInt: return Napi::Int32Array::New(env, t.numel(), buffer, 0);
    default: return Napi::Uint8Array::New(env, t.numel(), buffer, 0);
  }
}

static Napi::Value dispose(const Napi::CallbackInfo& info) {
  release(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// reshape(id, shape): a view where the strides allow it, a copy otherwise.
static Napi::Value reshape(const Napi::CallbackInfo& info) {
  return wrap(info.Env(), tensorAt(info[0]).reshape(ints(info[1])));
}

static Napi::Value metaOf(const Napi::CallbackInfo& info) {
  writeMeta(tensorAt(info[0]));
  return info.Env().Undefined();
}

void registerTransfer(Napi::Env env, Napi::Object exports) {
  define(env, exports, "upload", upload);
  define(env, exports, "download", download);
  define(env, exports, "dispose", dispose);
  define(env, exports, "reshape", reshape);
  define(env, exports, "metaOf", metaOf);
}

}  // namespace epsilab
