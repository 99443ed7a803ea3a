// Moving data between JavaScript and libtorch, and handle bookkeeping.
#include <cstring>

#include "capture.h"

namespace epsilab {

// Where a typed array's bytes are; unlike ArrayBuffer().Data() this also works for arrays over a SharedArrayBuffer.
static std::pair<uint8_t*, size_t> bytesOf(const Napi::TypedArray& values) {
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  napi_value buffer;
  if (napi_get_typedarray_info(values.Env(), values, &type, &length, &data, &buffer, &offset) != napi_ok) throw Napi::Error::New(values.Env());
  return {static_cast<uint8_t*>(data), values.ByteLength()};
}

// upload(typedArray, shape, dtypeCode) copies the values into a new tensor. The tensor owns its memory (native kernels may
// update it in place, and the caller may reuse or transfer its array), so the CPU pays one copy. On a GPU the values go
// through pinned memory with an asynchronous copy: the host queues it and moves on instead of waiting for the GPU to
// finish all queued work first, which a copy from pageable memory would make it do on every batch and every scalar.
static Napi::Value upload(const Napi::CallbackInfo& info) {
  auto values = info[0].As<Napi::TypedArray>();
  auto shape = ints(info[1]);
  auto type = scalarTypeOf(info[2].As<Napi::Number>().Int32Value());
  auto [data, byteLength] = bytesOf(values);
  auto host = at::from_blob(data, shape, at::TensorOptions().dtype(type));
  if (static_cast<size_t>(host.nbytes()) != byteLength) throw std::invalid_argument("upload: size does not match shape");
  if (currentDevice().is_cpu()) return wrap(info.Env(), host.clone());
  auto pinned = at::empty(shape, at::TensorOptions().dtype(type).pinned_memory(true));
  if (byteLength > 0) std::memcpy(pinned.data_ptr(), data, byteLength);
  // The caching host allocator keeps the pinned block until the queued copy has read it, so dropping it here is safe.
  return wrap(info.Env(), pinned.to(optionsFor(type), /*non_blocking=*/true));
}

// download(id) copies the values out in logical (row-major) order, straight into the new JavaScript buffer (one copy,
// also for a strided view or a GPU tensor).
static Napi::Value download(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  captureHostRead();
  const auto& t = tensorAt(info[0]);
  auto bytes = static_cast<size_t>(t.nbytes());
  auto buffer = Napi::ArrayBuffer::New(env, bytes);
  if (bytes > 0) at::from_blob(buffer.Data(), t.sizes(), at::TensorOptions().dtype(t.scalar_type())).copy_(t);
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
  auto shape = ints(info[1]);
  return op1(info.Env(), {slotOf(info[0])}, [shape](const TensorList& in) { return in[0].reshape(shape); });
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
