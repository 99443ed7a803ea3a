// Capture and replay. While a capture records, every native op appends itself (its bound attributes, input and output
// registers) to a list; captureEnd turns the list into a program whose inputs are fresh tensors (a batch, labels, a
// learning rate), whose state is the variables the step assigned (read from their slots at each replay and their slots
// given the new values after it, so the slots stay valid) and whose outputs are new tensors. Replaying a program runs
// its ops in C++ with no JavaScript between them.
#include "capture.h"

#include <torch/csrc/autograd/profiler_legacy.h>

#include <cstdlib>
#include <limits>
#include <memory>
#include <unordered_map>
#include <unordered_set>

// CUDA graphs need a CUDA build of libtorch and the CUDA runtime headers.
#if defined(EPSILAB_WITH_CUDA) && EPSILAB_WITH_CUDA && defined(EPSILAB_CUDA_HEADERS) && EPSILAB_CUDA_HEADERS
#define EPSILAB_CUDA_GRAPHS 1
#else
#define EPSILAB_CUDA_GRAPHS 0
#endif

#if EPSILAB_CUDA_GRAPHS
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#endif

namespace epsilab {

namespace {

struct Instr {
  OpFn fn;
  std::vector<int32_t> in, out;
  // Registers whose last reader this op is: dropped right after it, as the eager step would free them.
  std::vector<int32_t> drop;
  // Set on a convolution gradient half while recording.
  std::shared_ptr<ConvGradHalf> conv;
};

// A variable the step assigns: the register its new value ends in, and the slot tfjs knows it by.
struct Update {
  int32_t reg, slot;
};

struct Program {
  int32_t registers = 0;
  std::vector<std::pair<int32_t, at::Tensor>> constants;
  // (register, slot): an assigned variable's value before the step, read from its slot when a replay starts.
  std::vector<std::pair<int32_t, int32_t>> reads;
  std::vector<int32_t> inputs;
  std::vector<Instr> instrs;
  std::vector<Update> updates;
  std::vector<int32_t> outputs;
  int32_t replays = 0;
  // Convolutions whose two gradient halves run as one op.
  int32_t mergedConvGrads = 0;
#if EPSILAB_CUDA_GRAPHS
  std::unique_ptr<at::cuda::CUDAGraph> graph;
  TensorList staticInputs, staticOutputs;
  std::string graphFailed;
#endif
};

struct Recording {
  int32_t registers = 0;
  std::unordered_map<int32_t, int32_t> registerOf;  // live slot -> register
  std::vector<std::pair<int32_t, at::Tensor>> externals;
  std::vector<bool> produced;  // by register: written by an op of the recording
  std::vector<int32_t> inputs, variables;
  std::vector<Instr> instrs;
  std::string declined;

  int32_t fresh(bool byOp) {
    produced.push_back(byOp);
    return registers++;
  }
  // A slot no op of the recording wrote is read as it is now: a constant, or a variable's value before the step.
  int32_t registerFor(int32_t slot) {
    auto it = registerOf.find(slot);
    if (it != registerOf.end()) return it->second;
    int32_t reg = fresh(false);
    externals.emplace_back(reg, tensorAt(slot));
    registerOf[slot] = reg;
    return reg;
  }
};

std::unique_ptr<Recording> recording;
std::vector<std::unique_ptr<Program>> programs;

Program& programAt(const Napi::Value& id) {
  int64_t i = id.As<Napi::Number>().Int64Value();
  if (i < 0 || i >= static_cast<int64_t>(programs.size()) || !programs[i]) throw std::invalid_argument("no such captured program");
  return *programs[i];
}

const void* storageOf(const at::Tensor& t) { return t.defined() && t.has_storage() ? t.storage().unsafeGetStorageImpl() : nullptr; }

void execute(const Program& p, TensorList& regs) {
  TensorList in;
  for (const auto& ins : p.instrs) {
    in.clear();
    for (auto r : ins.in) in.push_back(regs[r]);
    TensorList out = ins.fn(in);
    for (size_t j = 0; j < out.size(); j++) regs[ins.out[j]] = normalise(std::move(out[j]));
    for (auto r : ins.drop) regs[r].reset();
  }
}

// The outputs, and the variables' new values put in their slots: the new tensors themselves (no op writes in place, so
// nothing else sees a change), or, `inPlace` for a CUDA graph's fixed addresses, copied into the tensors the slots
// hold. A value that shares storage with such a home is then copied first, so no write is seen through another tensor.
TensorList finish(const Program& p, TensorList& regs, bool inPlace) {
  if (!inPlace) {
    TensorList outs;
    for (auto r : p.outputs) outs.push_back(regs[r]);
    for (const auto& u : p.updates) rebind(u.slot, regs[u.reg]);
    return outs;
  }
  std::unordered_set<const void*> homes;
  for (const auto& u : p.updates) homes.insert(storageOf(tensorAt(u.slot)));
  TensorList outs;
  for (auto r : p.outputs) outs.push_back(homes.count(storageOf(regs[r])) ? regs[r].clone() : regs[r]);
  TensorList sources;
  for (const auto& u : p.updates) sources.push_back(homes.count(storageOf(regs[u.reg])) ? regs[u.reg].clone() : regs[u.reg]);
  for (size_t i = 0; i < p.updates.size(); i++) tensorAt(p.updates[i].slot).copy_(sources[i]);
  return outs;
}

TensorList replayPlain(const Program& p, const TensorList& inputs, bool inPlace) {
  TensorList regs(p.registers);
  for (const auto& [r, t] : p.constants) regs[r] = t;
  for (const auto& [r, slot] : p.reads) regs[r] = tensorAt(slot);
  for (size_t i = 0; i < inputs.size(); i++) regs[p.inputs[i]] = inputs[i];
  execute(p, regs);
  return finish(p, regs, inPlace);
}

// EPSILAB_PROFILE_STEP=FILE: the fourth replay of the first program replayed that often is written to FILE as a Chrome
// trace of its ATen ops (chrome://tracing, Perfetto), to see where a step's time goes.
const char* traceFile(const Program& p) {
  static bool traced = false;
  const char* file = std::getenv("EPSILAB_PROFILE_STEP");
  if (traced || !file || !*file || p.replays != 3) return nullptr;
  traced = true;
  return file;
}

TensorList tracedReplay(const Program& p, const TensorList& inputs, const char* file) {
  torch::autograd::profiler::RecordProfile trace(file);
  return replayPlain(p, inputs, false);
}

#if EPSILAB_CUDA_GRAPHS
// On a GPU the program runs inside a CUDA graph from its second replay on (the first, plain, warms up libtorch's
// lazy initialisation): the inputs are copied into fixed buffers, the variables' new values into fixed homes (one
// tensor of their own per slot), and the outputs cloned out of fixed buffers.
bool replayGraph(Program& p, const TensorList& inputs, TensorList& outs) {
  if (!p.graphFailed.empty() || p.replays < 1) return false;
  if (!p.graph) {
    for (const auto& u : p.updates) rebind(u.slot, tensorAt(u.slot).clone());
    for (const auto& t : inputs) p.staticInputs.push_back(t.clone());
    auto graph = std::make_unique<at::cuda::CUDAGraph>();
    auto stream = c10::cuda::getStreamFromPool();
    try {
      c10::cuda::CUDAStreamGuard guard(stream);
      graph->capture_begin();
      try {
        p.staticOutputs = replayPlain(p, p.staticInputs, true);
      } catch (...) {
        graph->capture_end();
        throw;
      }
      graph->capture_end();
    } catch (const std::exception& e) {
      p.graphFailed = e.what();
      p.staticInputs.clear();
      return false;
    }
    p.graph = std::move(graph);
  }
  for (size_t i = 0; i < inputs.size(); i++) p.staticInputs[i].copy_(inputs[i]);
  p.graph->replay();
  outs.clear();
  for (const auto& t : p.staticOutputs) outs.push_back(t.clone());
  return true;
}
#endif

Napi::Value handles(Napi::Env env, const TensorList& ts) {
  auto out = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); i++) out.Set(i, Napi::Number::New(env, store(ts[i])));
  return out;
}

}  // namespace

int32_t slotOf(const Napi::Value& v) {
  int32_t slot = v.As<Napi::Number>().Int32Value();
  tensorAt(slot);
  return slot;
}

std::vector<int32_t> slotsOf(const Napi::Value& list) {
  auto a = list.As<Napi::Array>();
  std::vector<int32_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out[i] = slotOf(a.Get(i));
  return out;
}

namespace {

Napi::Value run(Napi::Env env, const std::vector<int32_t>& inputs, OpFn fn, bool single, std::shared_ptr<ConvGradHalf> conv) {
  TensorList in;
  in.reserve(inputs.size());
  for (auto s : inputs) in.push_back(tensorAt(s));
  TensorList out = fn(in);
  std::vector<int32_t> slots(out.size());
  for (size_t i = 0; i < out.size(); i++) {
    out[i] = normalise(std::move(out[i]));
    slots[i] = store(out[i]);
  }
  if (recording) {
    Instr ins{std::move(fn), {}, {}, {}, std::move(conv)};
    for (auto s : inputs) ins.in.push_back(recording->registerFor(s));
    for (auto s : slots) {
      int32_t reg = recording->fresh(true);
      recording->registerOf[s] = reg;
      ins.out.push_back(reg);
    }
    recording->instrs.push_back(std::move(ins));
  }
  if (single) {
    writeMeta(out[0]);
    return Napi::Number::New(env, slots[0]);
  }
  auto result = Napi::Array::New(env, slots.size());
  for (size_t i = 0; i < slots.size(); i++) result.Set(i, Napi::Number::New(env, slots[i]));
  return result;
}

// The two halves of each convolution's gradient (same dy, same convolution) become one op, at the place of the first:
// the later half's inputs are all there by then (x comes from the forward pass, the filter from before the step).
// The values are the separate ops': ATen computes each half of a CPU or GPU convolution's backward on its own.
int32_t mergeConvGrads(std::vector<Instr>& instrs, int32_t registers) {
  std::vector<int64_t> producer(registers, -1);
  for (size_t i = 0; i < instrs.size(); i++)
    for (auto o : instrs[i].out) producer[o] = static_cast<int64_t>(i);
  auto dyOf = [](const Instr& ins) { return ins.conv->filter ? ins.in[1] : ins.in[0]; };
  std::vector<bool> merged(instrs.size(), false);
  for (size_t a = 0; a < instrs.size(); a++) {
    if (!instrs[a].conv || merged[a]) continue;
    for (size_t b = a + 1; b < instrs.size(); b++) {
      auto& first = instrs[a];
      auto& second = instrs[b];
      if (!second.conv || merged[b] || second.conv->filter == first.conv->filter || !second.conv->sameConv(*first.conv) || dyOf(first) != dyOf(second)) continue;
      auto& filterHalf = first.conv->filter ? first : second;
      auto& inputHalf = first.conv->filter ? second : first;
      int32_t x = filterHalf.in[0], w = inputHalf.in[1], dy = dyOf(first);
      if (producer[x] >= static_cast<int64_t>(a) || producer[w] >= static_cast<int64_t>(a)) continue;
      Instr both{convGradBoth(*first.conv), {x, dy, w}, {inputHalf.out[0], filterHalf.out[0]}, {}, nullptr};
      instrs[a] = std::move(both);
      merged[b] = true;
      break;
    }
  }
  size_t kept = 0;
  for (size_t i = 0; i < instrs.size(); i++) {
    if (merged[i]) continue;
    if (kept != i) instrs[kept] = std::move(instrs[i]);  // a vector moved onto itself is left empty
    kept++;
  }
  auto count = static_cast<int32_t>(instrs.size() - kept);
  instrs.resize(kept);
  return count;
}

}  // namespace

Napi::Value runOp(Napi::Env env, const std::vector<int32_t>& inputs, OpFn fn, bool single) {
  return run(env, inputs, std::move(fn), single, nullptr);
}

Napi::Value convGradOp(Napi::Env env, const std::vector<int32_t>& inputs, OpFn fn, ConvGradHalf half) {
  return run(env, inputs, std::move(fn), true, std::make_shared<ConvGradHalf>(std::move(half)));
}

void captureForget(int32_t slot) {
  if (recording) recording->registerOf.erase(slot);
}

void captureHostRead() {
  if (recording && recording->declined.empty()) recording->declined = "the step copies tensor values to the host";
}

// captureBegin(inputSlots, variableSlots): records from now on; the inputs are what each replay passes anew.
static Napi::Value captureBegin(const Napi::CallbackInfo& info) {
  if (recording) throw std::invalid_argument("a capture is already recording");
  auto r = std::make_unique<Recording>();
  for (auto s : slotsOf(info[0])) {
    int32_t reg = r->fresh(false);
    r->registerOf[s] = reg;
    r->inputs.push_back(reg);
  }
  for (auto s : slotsOf(info[1])) r->variables.push_back(r->registerFor(s));
  recording = std::move(r);
  return info.Env().Undefined();
}

// captureDecline(reason): the recording cannot become a program (the first reason is kept).
static Napi::Value captureDecline(const Napi::CallbackInfo& info) {
  if (recording && recording->declined.empty()) recording->declined = info[0].As<Napi::String>().Utf8Value();
  return info.Env().Undefined();
}

static Napi::Value captureAbort(const Napi::CallbackInfo& info) {
  recording.reset();
  return info.Env().Undefined();
}

// captureEnd(variableSlots, outputSlots) -> {program} | {declined} | {retry}: the variables in captureBegin's order, as
// they are after the step, and the tensors each replay returns.
static Napi::Value captureEnd(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!recording) throw std::invalid_argument("no capture is recording");
  auto r = std::move(recording);
  auto result = Napi::Object::New(env);
  if (!r->declined.empty()) {
    result.Set("declined", r->declined);
    return result;
  }
  auto ends = slotsOf(info[0]);
  auto outputSlots = slotsOf(info[1]);
  if (ends.size() != r->variables.size()) throw std::invalid_argument("captureEnd: variable count differs from captureBegin");

  // A variable that reads another's tensor cannot be told apart from it once one of them changes.
  std::unordered_map<int32_t, int32_t> sharers;
  for (auto b : r->variables) sharers[b]++;
  auto p = std::make_unique<Program>();
  std::unordered_map<int32_t, int32_t> readFrom;  // an assigned variable's register before the step -> its slot after
  for (size_t i = 0; i < ends.size(); i++) {
    int32_t begin = r->variables[i];
    auto it = r->registerOf.find(ends[i]);
    if (it != r->registerOf.end() && it->second == begin) continue;
    if (sharers[begin] > 1) {
      result.Set("retry", "two variables shared one tensor and the step changed one of them");
      return result;
    }
    if (it == r->registerOf.end() || !r->produced[it->second]) {
      result.Set("declined", "the step assigns a variable a tensor it did not compute");
      return result;
    }
    p->updates.push_back({it->second, ends[i]});
    readFrom[begin] = ends[i];
  }
  for (auto s : outputSlots) p->outputs.push_back(r->registerFor(s));

  p->mergedConvGrads = mergeConvGrads(r->instrs, r->registers);

  // Only ops whose results reach an output or a variable run again; each register is dropped after its last reader.
  constexpr int32_t kKept = std::numeric_limits<int32_t>::max();
  std::vector<int32_t> lastUse(r->registers, -1);
  for (auto o : p->outputs) lastUse[o] = kKept;
  for (const auto& u : p->updates) lastUse[u.reg] = kKept;
  std::vector<bool> live(r->instrs.size(), false);
  for (int32_t i = static_cast<int32_t>(r->instrs.size()) - 1; i >= 0; i--) {
    const auto& ins = r->instrs[i];
    for (auto o : ins.out) live[i] = live[i] || lastUse[o] != -1;
    if (!live[i]) continue;
    for (auto in : ins.in) if (lastUse[in] == -1) lastUse[in] = i;
  }
  std::vector<int32_t> renumber(r->registers, -1);
  auto reg = [&](int32_t old) {
    if (renumber[old] == -1) renumber[old] = p->registers++;
    return renumber[old];
  };
  for (auto in : r->inputs) p->inputs.push_back(reg(in));
  for (const auto& [e, t] : r->externals) {
    if (lastUse[e] == -1) continue;
    auto slot = readFrom.find(e);
    if (slot != readFrom.end()) p->reads.emplace_back(reg(e), slot->second);
    else p->constants.emplace_back(reg(e), t);
  }
  for (size_t i = 0; i < r->instrs.size(); i++) {
    if (!live[i]) continue;
    auto& ins = r->instrs[i];
    Instr kept{std::move(ins.fn), {}, {}, {}, nullptr};
    for (auto in : ins.in) kept.in.push_back(reg(in));
    for (auto o : ins.out) {
      kept.out.push_back(reg(o));
      if (lastUse[o] == -1) kept.drop.push_back(reg(o));
    }
    for (auto in : ins.in) {
      if (lastUse[in] == static_cast<int32_t>(i) && std::find(kept.drop.begin(), kept.drop.end(), reg(in)) == kept.drop.end()) kept.drop.push_back(reg(in));
    }
    p->instrs.push_back(std::move(kept));
  }
  for (auto& o : p->outputs) o = reg(o);
  for (auto& u : p->updates) u.reg = reg(u.reg);
  programs.push_back(std::move(p));
  result.Set("program", Napi::Number::New(env, static_cast<double>(programs.size() - 1)));
  return result;
}

// replay(program, inputSlots) -> output handles: one whole step in C++.
static Napi::Value replay(const Napi::CallbackInfo& info) {
  auto& p = programAt(info[0]);
  TensorList inputs;
  for (auto s : slotsOf(info[1])) inputs.push_back(tensorAt(s));
  if (inputs.size() != p.inputs.size()) throw std::invalid_argument("replay: wrong number of inputs");
  TensorList outs;
#if EPSILAB_CUDA_GRAPHS
  if (currentDevice().is_cuda() && replayGraph(p, inputs, outs)) {
    p.replays++;
    return handles(info.Env(), outs);
  }
#endif
  const char* trace = traceFile(p);
  outs = trace ? tracedReplay(p, inputs, trace) : replayPlain(p, inputs, false);
  p.replays++;
  return handles(info.Env(), outs);
}

// programInfo(program) -> {ops, constants, updates, outputs, mergedConvGrads, graph}: what a captured program holds, for the run log.
static Napi::Value programInfo(const Napi::CallbackInfo& info) {
  const auto& p = programAt(info[0]);
  auto out = Napi::Object::New(info.Env());
  out.Set("ops", static_cast<double>(p.instrs.size()));
  out.Set("constants", static_cast<double>(p.constants.size()));
  out.Set("updates", static_cast<double>(p.updates.size()));
  out.Set("outputs", static_cast<double>(p.outputs.size()));
  out.Set("mergedConvGrads", static_cast<double>(p.mergedConvGrads));
#if EPSILAB_CUDA_GRAPHS
  out.Set("graph", p.graph ? "cuda graph" : p.graphFailed.empty() ? "none" : "failed: " + p.graphFailed);
#else
  out.Set("graph", "none");
#endif
  return out;
}

static Napi::Value dropProgram(const Napi::CallbackInfo& info) {
  programAt(info[0]);
  programs[info[0].As<Napi::Number>().Int64Value()].reset();
  return info.Env().Undefined();
}

void registerCapture(Napi::Env env, Napi::Object exports) {
  define(env, exports, "captureBegin", captureBegin);
  define(env, exports, "captureDecline", captureDecline);
  define(env, exports, "captureAbort", captureAbort);
  define(env, exports, "captureEnd", captureEnd);
  define(env, exports, "replay", replay);
  define(env, exports, "programInfo", programInfo);
  define(env, exports, "dropProgram", dropProgram);
}

}  // namespace epsilab
