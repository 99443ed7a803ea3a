// Data-parallel collectives over libtorch's c10d: one process group per process, formed through a TCPStore that rank 0
// hosts or a FileStore on a shared filesystem; Gloo on the CPU, NCCL on CUDA where the libtorch has it. Allreduce and
// broadcast are native ops (so a captured training step replays them); every collective waits at most the timeout it was
// given and then fails naming what timed out.
#include "capture.h"

#include <chrono>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#if EPSILAB_WITH_GLOO
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#if EPSILAB_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace epsilab {

namespace {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

std::string seconds(Millis t) {
  std::ostringstream s;
  s << static_cast<double>(t.count()) / 1000 << " s";
  return s.str();
}

#if EPSILAB_WITH_GLOO

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  int rank = 0, size = 1;
  std::string backend;
  Millis timeout{0};
  int64_t collectives = 0;
};

// Held until the process ends and never destroyed: a group stuck on a dead peer would block its destructor at exit.
Group*& current() {
  static Group* group = nullptr;
  return group;
}

Group& group() {
  Group* g = current();
  if (!g) throw std::runtime_error("process group: not initialised (call pgInit first)");
  return *g;
}

// Every rank registers in the store and waits for the others, so a rank that never comes is named by number.
void awaitRanks(c10d::Store& store, int rank, int size, Millis timeout, const std::string& where) {
  store.set("epsilab/arrived/" + std::to_string(rank), std::vector<uint8_t>{1});
  auto deadline = Clock::now() + timeout;
  for (;;) {
    std::string missing;
    for (int r = 0; r < size; r++)
      if (!store.check({"epsilab/arrived/" + std::to_string(r)})) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
    if (missing.empty()) return;
    if (Clock::now() > deadline)
      throw std::runtime_error("process group: rendezvous at " + where + " timed out after " + seconds(timeout) +
                               ": rank(s) " + missing + " of " + std::to_string(size) + " never arrived");
    std::this_thread::sleep_for(Millis(20));
  }
}

// A Gloo transport device: the interface GLOO_SOCKET_IFNAME names (as PyTorch reads it), loopback for a local group,
// else this host's own address.
std::shared_ptr<::gloo::transport::Device> glooDevice(const std::string& host) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME")) return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (host == "127.0.0.1" || host == "localhost") return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

Napi::Value init(const Napi::CallbackInfo& info) {
  if (current()) throw std::runtime_error("process group: already initialised in this process");
  auto o = info[0].As<Napi::Object>();
  auto str = [&](const char* k) { return o.Has(k) && o.Get(k).IsString() ? o.Get(k).As<Napi::String>().Utf8Value() : std::string(); };
  int rank = o.Get("rank").As<Napi::Number>().Int32Value();
  int size = o.Get("worldSize").As<Napi::Number>().Int32Value();
  Millis timeout(static_cast<int64_t>(o.Get("timeoutMs").As<Napi::Number>().DoubleValue()));
  std::string backend = str("backend"), host = str("host"), file = str("file");
  if (rank < 0 || rank >= size) throw std::invalid_argument("process group: rank " + std::to_string(rank) + " is not in 0.." + std::to_string(size - 1));
  auto g = std::make_unique<Group>();
  g->rank = rank;
  g->size = size;
  g->backend = backend;
  g->timeout = timeout;
  std::string where;
  if (!file.empty()) {
    where = "file " + file;
    g->store = c10::make_intrusive<c10d::FileStore>(file, size);
    g->store->setTimeout(timeout);
  } else {
    int port = o.Get("port").As<Napi::Number>().Int32Value();
    where = host + ":" + std::to_string(port);
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<uint16_t>(port);
    opts.isServer = rank == 0;
    opts.numWorkers = size;
    opts.waitWorkers = false;
    opts.timeout = timeout;
    try {
      g->store = c10::make_intrusive<c10d::TCPStore>(host, opts);
    } catch (const std::exception& e) {
      std::string why = e.what();
      auto cut = why.find("\nException raised from");
      if (cut != std::string::npos) why = why.substr(0, cut);
      throw std::runtime_error(rank == 0 ? "process group: rank 0 cannot host the rendezvous store on " + where + " (is the port in use? choose another MASTER_PORT): " + why
                                         : "process group: rank " + std::to_string(rank) + " cannot reach rank 0's rendezvous store at " + where + " within " + seconds(timeout) + ": " + why);
    }
  }
  awaitRanks(*g->store, rank, size, timeout, where);
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("pg", g->store);
  if (backend == "gloo") {
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    opts->devices.push_back(glooDevice(host.empty() ? "127.0.0.1" : host));
    opts->threads = 2;
    g->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, rank, size, opts);
#if EPSILAB_WITH_NCCL
  } else if (backend == "nccl") {
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    g->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, rank, size, opts);
#endif
  } else {
    throw std::invalid_argument("process group: backend " + backend + " is not in this build of the addon");
  }
  current() = g.release();
  return info.Env().Undefined();
}

// Waits for a collective; past the group's timeout (or the one given) it fails naming the collective and the rank.
void await(c10d::Work& work, const std::string& what, Millis timeout) {
  auto& g = group();
  try {
    work.wait(timeout);
  } catch (const std::exception& e) {
    std::string why = e.what();
    auto cut = why.find("\nException raised from");
    if (cut != std::string::npos) why = why.substr(0, cut);
    throw std::runtime_error("process group: " + what + " (collective " + std::to_string(g.collectives) + " on rank " +
                             std::to_string(g.rank) + " of " + std::to_string(g.size) + ") failed or timed out after " +
                             seconds(timeout) + ": a rank stopped or is far behind (" + why + ")");
  }
}

Millis timeoutOf(const Napi::Value& v) {
  return v.IsNumber() ? Millis(static_cast<int64_t>(v.As<Napi::Number>().DoubleValue())) : group().timeout;
}

// Sums (or averages) tensors over the ranks in flattened buckets of at most `bucketBytes`, filled in reverse order as
// PyTorch's reducer fills them (gradients arrive last-layer first); returns new tensors, leaving the inputs as they were.
TensorList allreduce(const TensorList& in, bool average, int64_t bucketBytes, Millis timeout) {
  auto& g = group();
  std::vector<std::vector<size_t>> buckets;
  int64_t filled = 0;
  for (size_t k = in.size(); k-- > 0;) {
    int64_t bytes = in[k].numel() * static_cast<int64_t>(in[k].element_size());
    if (buckets.empty() || (filled > 0 && filled + bytes > bucketBytes) || in[k].scalar_type() != in[buckets.back().front()].scalar_type()) {
      buckets.emplace_back();
      filled = 0;
    }
    buckets.back().push_back(k);
    filled += bytes;
  }
  std::vector<at::Tensor> flat;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto& b : buckets) {
    TensorList parts;
    for (size_t k : b) parts.push_back(in[k].reshape({-1}));
    std::vector<at::Tensor> one{at::cat(parts)};
    flat.push_back(one[0]);
    works.push_back(g.pg->allreduce(one));
    g.collectives++;
  }
  for (size_t i = 0; i < works.size(); i++)
    await(*works[i], "allreduce of bucket " + std::to_string(i + 1) + "/" + std::to_string(works.size()) + " (" +
                         std::to_string(buckets[i].size()) + " tensors)", timeout);
  TensorList out(in.size());
  for (size_t i = 0; i < buckets.size(); i++) {
    if (average) flat[i].div_(g.size);
    int64_t at = 0;
    for (size_t k : buckets[i]) {
      out[k] = flat[i].narrow(0, at, in[k].numel()).view(in[k].sizes());
      at += in[k].numel();
    }
  }
  return out;
}

// Rank `root`'s values of the tensors, on every rank (new tensors).
TensorList broadcast(const TensorList& in, int root, Millis timeout) {
  auto& g = group();
  TensorList parts;
  for (auto& t : in) parts.push_back(t.reshape({-1}));
  std::vector<at::Tensor> one{parts.empty() ? at::empty({0}) : at::cat(parts)};
  c10d::BroadcastOptions opts;
  opts.rootRank = root;
  auto work = g.pg->broadcast(one, opts);
  g.collectives++;
  await(*work, "broadcast of " + std::to_string(in.size()) + " tensors from rank " + std::to_string(root), timeout);
  TensorList out;
  int64_t at = 0;
  for (auto& t : in) {
    out.push_back(one[0].narrow(0, at, t.numel()).view(t.sizes()));
    at += t.numel();
  }
  return out;
}

Napi::Value allreduceOp(const Napi::CallbackInfo& info) {
  bool average = info[1].As<Napi::Boolean>().Value();
  int64_t bucketBytes = static_cast<int64_t>(info[2].As<Napi::Number>().DoubleValue());
  Millis timeout = timeoutOf(info[3]);
  return opN(info.Env(), slotsOf(info[0]), [average, bucketBytes, timeout](const TensorList& in) { return allreduce(in, average, bucketBytes, timeout); });
}

Napi::Value broadcastOp(const Napi::CallbackInfo& info) {
  int root = info[1].As<Napi::Number>().Int32Value();
  Millis timeout = timeoutOf(info[2]);
  return opN(info.Env(), slotsOf(info[0]), [root, timeout](const TensorList& in) { return broadcast(in, root, timeout); });
}

Napi::Value barrier(const Napi::CallbackInfo& info) {
  auto& g = group();
  Millis timeout = timeoutOf(info[0]);
  c10d::BarrierOptions opts;
  opts.timeout = timeout;
  auto work = g.pg->barrier(opts);
  g.collectives++;
  await(*work, "barrier", timeout);
  return info.Env().Undefined();
}

#endif

Napi::Value capabilities(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  out.Set("gloo", static_cast<bool>(EPSILAB_WITH_GLOO));
  out.Set("nccl", static_cast<bool>(EPSILAB_WITH_NCCL));
  return out;
}

}  // namespace

void registerDistributed(Napi::Env env, Napi::Object exports) {
  define(env, exports, "pgCapabilities", capabilities);
#if EPSILAB_WITH_GLOO
  define(env, exports, "pgInit", init);
  define(env, exports, "pgAllreduce", allreduceOp);
  define(env, exports, "pgBroadcast", broadcastOp);
  define(env, exports, "pgBarrier", barrier);
#endif
}

}  // namespace epsilab
