// Optimizer updates fused into one op per variable: the element-wise chain of an update is a handful of kernels over
// small tensors, each paying the dispatch and an allocation, where one pass reads each input once.
#include <ATen/Parallel.h>

#include "capture.h"

namespace epsilab {

using at::Tensor;

// momentumUpdate(w, accum, g, lr, wd|null, momentum, nesterov) -> [w', accum']: TF's MomentumOptimizer step with the
// L2 gradient wd·w added first: g' = g + w·wd; accum' = accum·m + g'; w' = w - lr·(nesterov ? g' + accum'·m : accum').
// On CPU floats each product and sum is rounded to float as the separate ops round it, so the values are theirs.
static Napi::Value momentumUpdate(const Napi::CallbackInfo& info) {
  bool decays = !info[4].IsNull() && !info[4].IsUndefined();
  std::vector<int32_t> inputs{slotOf(info[0]), slotOf(info[1]), slotOf(info[2]), slotOf(info[3])};
  if (decays) inputs.push_back(slotOf(info[4]));
  double momentum = num(info[5]);
  bool nesterov = info[6].As<Napi::Boolean>().Value();
  return opN(info.Env(), inputs, [decays, momentum, nesterov](const TensorList& in) {
    const auto& w = in[0];
    const auto& accum = in[1];
    const auto& g = in[2];
    const auto& lr = in[3];
    bool cpuFloats = w.device().is_cpu();
    for (const auto& t : in) cpuFloats = cpuFloats && t.scalar_type() == at::kFloat;
    bool sameShape = accum.sizes().equals(w.sizes()) && g.sizes().equals(w.sizes());
    if (!cpuFloats || !sameShape || lr.numel() != 1 || (decays && in[4].numel() != 1)) {
      auto m = at::scalar_tensor(momentum, w.options());
      auto gd = decays ? at::add(g, at::mul(w, in[4])) : g;
      auto next = at::add(at::mul(accum, m), gd);
      auto update = nesterov ? at::add(gd, at::mul(next, m)) : next;
      return TensorList{at::sub(w, at::mul(update, lr)), next};
    }
    auto wc = w.contiguous(), ac = accum.contiguous(), gc = g.contiguous();
    auto wOut = at::empty_like(wc), aOut = at::empty_like(ac);
    const float* ws = wc.data_ptr<float>();
    const float* as = ac.data_ptr<float>();
    const float* gs = gc.data_ptr<float>();
    float* wNew = wOut.data_ptr<float>();
    float* aNew = aOut.data_ptr<float>();
    const float rate = lr.item<float>(), decay = decays ? in[4].item<float>() : 0.0f, m = static_cast<float>(momentum);
    at::parallel_for(0, wc.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++) {
        float gi = gs[i];
        if (decays) gi = gi + ws[i] * decay;
        float next = as[i] * m + gi;
        float update = nesterov ? gi + next * m : next;
        aNew[i] = next;
        wNew[i] = ws[i] - update * rate;
      }
    });
    return TensorList{wOut, aOut};
  });
}

void registerOptimizer(Napi::Env env, Napi::Object exports) { define(env, exports, "momentumUpdate", momentumUpdate); }

}  // namespace epsilab
