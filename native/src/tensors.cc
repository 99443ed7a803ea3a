#include "tensors.h"

#include "capture.h"

#include <unordered_set>

namespace epsilab {

namespace {
std::vector<at::Tensor> slots;
std::vector<int32_t> freeSlots;
int32_t meta[kMetaInts];
}  // namespace

at::ScalarType scalarTypeOf(int code) {
  switch (code) {
    case 0: return at::kFloat;
    case 1: return at::kInt;
    case 2: return at::kBool;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(code));
}

int codeOf(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return 0;
    case at::kInt: return 1;
    case at::kBool: return 2;
    default: throw std::invalid_argument(std::string("no tfjs dtype for ") + c10::toString(type));
  }
}

c10::Device& currentDevice() {
  static c10::Device device(at::kCPU);
  return device;
}

at::TensorOptions optionsFor(at::ScalarType type) { return at::TensorOptions().dtype(type).device(currentDevice()); }

at::Tensor& tensorAt(const Napi::Value& id) { return tensorAt(static_cast<int32_t>(id.As<Napi::Number>().Int64Value())); }

at::Tensor& tensorAt(int32_t i) {
  if (i < 0 || i >= static_cast<int64_t>(slots.size()) || !slots[i].defined()) {
    throw std::invalid_argument("tensor handle " + std::to_string(i) + " is not live (used after dispose?)");
  }
  return slots[i];
}

int32_t store(at::Tensor t) {
  if (!freeSlots.empty()) {
    int32_t i = freeSlots.back();
    freeSlots.pop_back();
    slots[i] = std::move(t);
    return i;
  }
  slots.push_back(std::move(t));
  return static_cast<int32_t>(slots.size() - 1);
}

void release(int32_t i) {
  if (i < 0 || i >= static_cast<int32_t>(slots.size()) || !slots[i].defined()) {
    throw std::invalid_argument("tensor handle " + std::to_string(i) + " freed twice");
  }
  slots[i].reset();
  freeSlots.push_back(i);
  captureForget(i);
}

void rebind(int32_t i, at::Tensor t) { tensorAt(i) = std::move(t); }

void writeMeta(const at::Tensor& t) {
  if (t.dim() > static_cast<int64_t>(kMetaInts) - 2) throw std::invalid_argument("rank too large");
  meta[0] = static_cast<int32_t>(t.dim());
  meta[1] = codeOf(t.scalar_type());
  for (int64_t d = 0; d < t.dim(); d++) meta[2 + d] = static_cast<int32_t>(t.size(d));
}

int32_t* metaBuffer() { return meta; }

// tfjs knows float32, int32 and bool only: wider ATen results are narrowed.
at::Tensor normalise(at::Tensor t) {
  switch (t.scalar_type()) {
    case at::kFloat: case at::kInt: case at::kBool: return t;
    case at::kLong: case at::kShort: case at::kChar: case at::kByte: return t.to(at::kInt);
    default: return t.to(at::kFloat);
  }
}

Napi::Value wrap(Napi::Env env, at::Tensor t) {
  t = normalise(std::move(t));
  writeMeta(t);
  return Napi::Number::New(env, store(std::move(t)));
}

Napi::Value wrapAll(Napi::Env env, const std::vector<at::Tensor>& ts) {
  auto out = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); i++) out.Set(i, Napi::Number::New(env, store(normalise(ts[i]))));
  return out;
}

std::vector<int64_t> ints(const Napi::Value& v) {
  auto a = v.As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out[i] = a.Get(i).As<Napi::Number>().Int64Value();
  return out;
}

double num(const Napi::Value& v) { return v.As<Napi::Number>().DoubleValue(); }

std::pair<int64_t, int64_t> liveMemory() {
  std::unordered_set<const void*> seen;
  int64_t count = 0, bytes = 0;
  for (const auto& t : slots) {
    if (!t.defined()) continue;
    count++;
    const auto& storage = t.storage();
    if (seen.insert(storage.unsafeGetStorageImpl()).second) bytes += static_cast<int64_t>(storage.nbytes());
  }
  return {count, bytes};
}

void define(Napi::Env env, Napi::Object exports, const char* name, Handler fn) {
  exports.Set(name, Napi::Function::New(env, [fn](const Napi::CallbackInfo& info) -> Napi::Value {
    try {
      return fn(info);
    } catch (const Napi::Error&) {
      throw;
    } catch (const c10::Error& e) {
      throw Napi::Error::New(info.Env(), std::string("libtorch: ") + e.what_without_backtrace());
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), std::string("libtorch: ") + e.what());
    }
  }, name));
}

}  // namespace epsilab
