// Entry point of the epsilab libtorch addon: configuration, memory statistics, and the kernel groups.
#include <ATen/Parallel.h>
#include <malloc.h>

#include <torch/csrc/api/include/torch/cuda.h>
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

// GPUs this libtorch sees: torch::cuda asks libtorch_cuda when it is linked and answers 0 otherwise, without CUDA headers.
static int cudaDevices() { return EPSILAB_WITH_CUDA ? static_cast<int>(torch::cuda::device_count()) : 0; }

static Napi::Object describe(Napi::Env env) {
  auto info = Napi::Object::New(env);
  info.Set("version", TORCH_VERSION);
  info.Set("threads", at::get_num_threads());
  info.Set("device", currentDevice().str());
  info.Set("mkldnn", at::hasMKLDNN());
  info.Set("cuda", at::hasCUDA());
  info.Set("cudaBuild", static_cast<bool>(EPSILAB_WITH_CUDA));
  info.Set("cudaDevices", cudaDevices());
  info.Set("cudaHeaders", static_cast<bool>(EPSILAB_CUDA_HEADERS));
  info.Set("cudnn", EPSILAB_WITH_CUDA && torch::cuda::cudnn_is_available());
  info.Set("gloo", static_cast<bool>(EPSILAB_WITH_GLOO));
  info.Set("nccl", static_cast<bool>(EPSILAB_WITH_NCCL));
  return info;
}

// Where a tensor on `device` can live, or why not (the TypeScript side words the advice; this guards the addon itself).
static void checkDevice(const c10::Device& device) {
  if (device.is_cpu()) return;
  if (!device.is_cuda()) throw std::invalid_argument("device " + device.str() + " is not supported (cpu or cuda:N)");
  if (!EPSILAB_WITH_CUDA) throw std::invalid_argument("this libtorch was built without CUDA");
  int count = cudaDevices();
  if (device.index() >= count || count == 0) throw std::invalid_argument("device " + device.str() + " does not exist (" + std::to_string(count) + " GPUs)");
}

static Napi::Value configure(const Napi::CallbackInfo& info) {
  auto opts = info[0].As<Napi::Object>();
  if (opts.Has("threads") && !opts.Get("threads").IsUndefined()) {
    int threads = opts.Get("threads").As<Napi::Number>().Int32Value();
    at::set_num_threads(threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency()));
  }
  if (opts.Has("device") && !opts.Get("device").IsUndefined()) {
    c10::Device device(opts.Get("device").As<Napi::String>().Utf8Value());
    checkDevice(device);
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
  if (currentDevice().is_cuda()) torch::cuda::synchronize(currentDevice().has_index() ? currentDevice().index() : -1);
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
  registerOptimizer(env, exports);
  registerCapture(env, exports);
  registerDistributed(env, exports);
  return exports;
}

}  // namespace epsilab

static Napi::Object Init(Napi::Env env, Napi::Object exports) { return epsilab::init(env, exports); }

NODE_API_MODULE(epsilab_torch, Init)
