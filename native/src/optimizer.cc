// Optimizer updates fused into one op per variable: the element-wise chain of an update is a handful of kernels over
// small tensors, each paying the dispatch and an allocation, where one pass reads each input once.
#include <ATen/Parallel.h>

#include <cmath>

// Each product and sum is rounded to float as the separate ops round it: no fused multiply-adds (aarch64 has them by
// default).
#pragma GCC optimize("fp-contract=off")

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

// adamUpdate(w, m, v, g, stepSize, wd|null, decayRate|null, beta1, beta2, epsilon) -> [w', m', v']: Adam (Kingma & Ba)
// as src/components/optimizer/adam.ts writes it: g' = g + w·wd (L2, where wd is given); m' = m·β1 + g'·(1-β1);
// v' = v·β2 + g'²·(1-β2); w' = w - m'/(√v' + ε)·stepSize, then w' - w·decayRate (decoupled decay, where given).
static Napi::Value adamUpdate(const Napi::CallbackInfo& info) {
  auto given = [&](int i) { return !info[i].IsNull() && !info[i].IsUndefined(); };
  bool l2 = given(5), decoupled = given(6);
  std::vector<int32_t> inputs{slotOf(info[0]), slotOf(info[1]), slotOf(info[2]), slotOf(info[3]), slotOf(info[4])};
  if (l2) inputs.push_back(slotOf(info[5]));
  if (decoupled) inputs.push_back(slotOf(info[6]));
  double beta1 = num(info[7]), beta2 = num(info[8]), epsilon = num(info[9]);
  return opN(info.Env(), inputs, [l2, decoupled, beta1, beta2, epsilon](const TensorList& in) {
    const auto& w = in[0];
    const auto& m = in[1];
    const auto& v = in[2];
    const auto& g = in[3];
    const auto& stepSize = in[4];
    const Tensor* wd = l2 ? &in[5] : nullptr;
    const Tensor* decayRate = decoupled ? &in[l2 ? 6 : 5] : nullptr;
    bool cpuFloats = w.device().is_cpu();
    for (const auto& t : in) cpuFloats = cpuFloats && t.scalar_type() == at::kFloat;
    bool sameShape = m.sizes().equals(w.sizes()) && v.sizes().equals(w.sizes()) && g.sizes().equals(w.sizes());
    bool scalars = stepSize.numel() == 1 && (!wd || wd->numel() == 1) && (!decayRate || decayRate->numel() == 1);
    // Constants as the separate ops see them: float tensors made from the JavaScript numbers.
    auto constant = [&](double x) { return at::scalar_tensor(x, w.options()); };
    if (!cpuFloats || !sameShape || !scalars) {
      auto gd = wd ? at::add(g, at::mul(w, *wd)) : g;
      auto mNew = at::add(at::mul(m, constant(beta1)), at::mul(gd, constant(1 - beta1)));
      auto vNew = at::add(at::mul(v, constant(beta2)), at::mul(at::square(gd), constant(1 - beta2)));
      auto wNew = at::sub(w, at::mul(at::div(mNew, at::add(at::sqrt(vNew), constant(epsilon))), stepSize));
      if (decayRate) wNew = at::sub(wNew, at::mul(w, *decayRate));
      return TensorList{wNew, mNew, vNew};
    }
    auto wc = w.contiguous(), mc = m.contiguous(), vc = v.contiguous(), gc = g.contiguous();
    auto wOut = at::empty_like(wc), mOut = at::empty_like(mc), vOut = at::empty_like(vc);
    const float* ws = wc.data_ptr<float>();
    const float* ms = mc.data_ptr<float>();
    const float* vs = vc.data_ptr<float>();
    const float* gs = gc.data_ptr<float>();
    float* wNew = wOut.data_ptr<float>();
    float* mNew = mOut.data_ptr<float>();
    float* vNew = vOut.data_ptr<float>();
    const float b1 = static_cast<float>(beta1), c1 = static_cast<float>(1 - beta1);
    const float b2 = static_cast<float>(beta2), c2 = static_cast<float>(1 - beta2), eps = static_cast<float>(epsilon);
    const float rate = stepSize.item<float>(), decay = wd ? wd->item<float>() : 0.0f;
    const float shrink = decayRate ? decayRate->item<float>() : 0.0f;
    at::parallel_for(0, wc.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++) {
        float gi = gs[i];
        if (l2) gi = gi + ws[i] * decay;
        float mi = ms[i] * b1 + gi * c1;
        float vi = vs[i] * b2 + (gi * gi) * c2;
        float wi = ws[i] - (mi / (std::sqrt(vi) + eps)) * rate;
        if (decoupled) wi = wi - ws[i] * shrink;
        mNew[i] = mi;
        vNew[i] = vi;
        wNew[i] = wi;
      }
    });
    return TensorList{wOut, mOut, vOut};
  });
}

void registerOptimizer(Napi::Env env, Napi::Object exports) {
  define(env, exports, "momentumUpdate", momentumUpdate);
  define(env, exports, "adamUpdate", adamUpdate);
}

}  // namespace epsilab
