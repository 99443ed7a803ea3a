// Entry point of the epsilab libtorch addon: configuration, memory statistics, and the kernel groups.
#include <ATen/Parallel.h>
#include <malloc.h>

#include <torch/csrc/api/include/torch/version.h>

#include <thread>

#include "tensors.h"

namespace epsilab {

// glibc returns big blocks to the OS on every free by default; the page faults that follow cost up to 1.75x on
// backward convolutions, so freed memory is kept for reuse as PyTorch's caching allocator would.
static void tuneAllocator() {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
#endif
}

static Napi::Object describe(Napi::Env env) {
  auto info = Napi::Object::New(env);
  info.Set("version", TORCH_VERSION);
  info.Set("threads", at::get_num_threads());
  info.Set("device", currentDevice().str());
  info.Set("mkldnn", at::hasMKLDNN());
  info.Set("cuda", at::hasCUDA());
  return info;
}

static Napi::Value configure(const Napi::CallbackInfo& info) {
  auto opts = info[0].As<Napi::Object>();
  if (opts.Has("threads") && !opts.Get("threads").IsUndefined()) {
    int threads = opts.Get("threads").As<Napi::Number>().Int32Value();
    at::set_num_threads(threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency()));
  }
  if (opts.Has("device") && !opts.Get("device").IsUndefined()) {
    c10::Device device(opts.Get("device").As<Napi::String>().Utf8Value());
    if (device.is_cuda() && !at::hasCUDA()) throw std::invalid_argument("this libtorch was built without CUDA");
    currentDevice() = device;
  }
  return describe(info.Env());
}

static Napi::Value memory(const Napi::CallbackInfo& info) {
  auto [count, bytes] = liveMemory();
  auto out = Napi::Object::New(info.Env());
  out.Set("tensors", static_cast<double>(count));
  out.Set("bytes", static_cast<double>(bytes));
  return out;
}

// Waits for queued device work (a no-op on the CPU, where every kernel is synchronous).
static Napi::Value sync(const Napi::CallbackInfo& info) {
  if (!currentDevice().is_cpu()) at::zeros({1}, optionsFor(at::kFloat)).cpu();
  return info.Env().Undefined();
}

static Napi::Object init(Napi::Env env, Napi::Object exports) {
  tuneAllocator();
  define(env, exports, "configure", configure);
  define(env, exports, "memory", memory);
  define(env, exports, "sync", sync);
  exports.Set("meta", Napi::Int32Array::New(env, kMetaInts,
      Napi::ArrayBuffer::New(env, metaBuffer(), kMetaInts * sizeof(int32_t)), 0));
  registerTransfer(env, exports);
  registerElementwise(env, exports);
  registerReduce(env, exports);
  registerShape(env, exports);
  registerConv(env, exports);
  registerPool(env, exports);
  registerNorm(env, exports);
  return exports;
}

}  // namespace epsilab

static Napi::Object Init(Napi::Env env, Napi::Object exports) { return epsilab::init(env, exports); }

NODE_API_MODULE(epsilab_torch, Init)
