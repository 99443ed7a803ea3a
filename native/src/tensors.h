// Shared plumbing of the addon: the handle table, argument parsing, dtype codes and error translation.
#pragma once
#include <ATen/ATen.h>
#include <napi.h>
#include <torch/csrc/api/include/torch/version.h>

#include <functional>
#include <optional>
#include <vector>

namespace epsilab {

// PyTorch 2.2 made c10::optional an alias of std::optional and later releases drop the alias; 1.13 has its own type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 2)
template <typename T>
using Optional = std::optional<T>;
inline constexpr std::nullopt_t kNone = std::nullopt;
#else
template <typename T>
using Optional = c10::optional<T>;
inline constexpr c10::nullopt_t kNone = c10::nullopt;
#endif

// dtype codes shared with the TypeScript side: 0 float32, 1 int32, 2 bool.
at::ScalarType scalarTypeOf(int code);
int codeOf(at::ScalarType type);

// The device every new tensor is created on (cpu unless configured otherwise).
c10::Device& currentDevice();
at::TensorOptions optionsFor(at::ScalarType type);

// Live tensors are addressed from JavaScript by slot number; a slot is emptied when tfjs disposes its data.
at::Tensor& tensorAt(const Napi::Value& id);
at::Tensor& tensorAt(int32_t id);
int32_t store(at::Tensor t);
void release(int32_t id);
// Puts another tensor in a live slot (a captured variable's home).
void rebind(int32_t id, at::Tensor t);
// A result narrowed to a dtype tfjs knows.
at::Tensor normalise(at::Tensor t);
// Stores a result (normalised to a tfjs dtype), records its shape in the meta buffer, returns its handle.
Napi::Value wrap(Napi::Env env, at::Tensor t);
Napi::Value wrapAll(Napi::Env env, const std::vector<at::Tensor>& ts);
// Writes [rank, dtype code, dims...] of a tensor into the meta buffer shared with JavaScript.
void writeMeta(const at::Tensor& t);
int32_t* metaBuffer();
constexpr size_t kMetaInts = 34;

std::vector<int64_t> ints(const Napi::Value& v);
double num(const Napi::Value& v);

// Live tensor count and the bytes of the distinct storages they hold.
std::pair<int64_t, int64_t> liveMemory();

using Handler = std::function<Napi::Value(const Napi::CallbackInfo&)>;
// Exports a function that turns libtorch errors into JavaScript errors.
void define(Napi::Env env, Napi::Object exports, const char* name, Handler fn);

// NHWC <-> NCHW views (channels-last memory stays where it is).
inline at::Tensor nchw(const at::Tensor& x) { return x.permute({0, 3, 1, 2}); }
inline at::Tensor nhwc(const at::Tensor& x) { return x.permute({0, 2, 3, 1}); }

void registerTransfer(Napi::Env env, Napi::Object exports);
void registerElementwise(Napi::Env env, Napi::Object exports);
void registerReduce(Napi::Env env, Napi::Object exports);
void registerShape(Napi::Env env, Napi::Object exports);
void registerConv(Napi::Env env, Napi::Object exports);
void registerPool(Napi::Env env, Napi::Object exports);
void registerNorm(Napi::Env env, Napi::Object exports);
void registerOptimizer(Napi::Env env, Napi::Object exports);
void registerCapture(Napi::Env env, Napi::Object exports);
void registerDistributed(Napi::Env env, Napi::Object exports);

}  // namespace epsilab
