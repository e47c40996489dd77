#include "rms_norm.hpp"

#include <cmath>

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/autograd.h>

#include "vec.hpp"

namespace igpt {

namespace {
using namespace vec;

constexpr int64_t kRowElements = 1 << 14;  // elements per task: enough to amortise a thread's start

// A row of float32 or bfloat16 values, by its element type.
enum class Kind { kNone, kFloat, kBfloat };

Kind kind_of(const torch::Tensor& t) {
  if (!t.defined()) return Kind::kNone;
  return t.scalar_type() == torch::kBFloat16 ? Kind::kBfloat : Kind::kFloat;
}

IGPT_INLINE VecF load_as(const void* p, Kind kind, int64_t i) {
  return kind == Kind::kBfloat ? load_bf16(static_cast<const uint16_t*>(p) + i)
                               : load(static_cast<const float*>(p) + i);
}
IGPT_INLINE void store_as(void* p, Kind kind, int64_t i, VecF v) {
  if (kind == Kind::kBfloat)
    store_bf16(static_cast<uint16_t*>(p) + i, v);
  else
    store(static_cast<float*>(p) + i, v);
}

// One row, d a multiple of kLanes: s = x + delta (written unless delta is kNone),
// n = s r g. Returns r = rsqrt(mean(s^2) + eps).
IGPT_KERNEL float forward_row(const float* x, const void* delta, Kind delta_kind, const float* g,
                              float* s, void* n, Kind n_kind, int64_t d) {
  VecF squares{};
  for (int64_t i = 0; i < d; i += kLanes) {
    VecF v = load(x + i);
    if (delta_kind != Kind::kNone) {
      v += load_as(delta, delta_kind, i);
      store(s + i, v);
    }
    squares += v * v;
  }
  const float r = 1.0f / std::sqrt(hsum(squares) / float(d) + float(kNormEps));
  const float* src = delta_kind != Kind::kNone ? s : x;
  for (int64_t i = 0; i < d; i += kLanes) store_as(n, n_kind, i, load(src + i) * r * load(g + i));
  return r;
}

// One row backward. With sh = s r (the normalised row) and dn = gn g:
//   ds = r (dn - sh mean(dn sh)) + gs,   dg += gn sh.
// ds is written as float32 and, when ddelta_kind is bfloat16, again as bfloat16.
IGPT_KERNEL void backward_row(const float* s, float r, const float* g, const void* gn, Kind gn_kind,
                              const float* gs, float* ds, void* ddelta, Kind ddelta_kind, float* dg,
                              int64_t d) {
  VecF dot{};
  for (int64_t i = 0; i < d; i += kLanes) {
    VecF sh = load(s + i) * r, up = load_as(gn, gn_kind, i);
    dot += up * load(g + i) * sh;
    store(dg + i, load(dg + i) + up * sh);
  }
  const float c = hsum(dot) / float(d);
  for (int64_t i = 0; i < d; i += kLanes) {
    VecF sh = load(s + i) * r;
    VecF v = (load_as(gn, gn_kind, i) * load(g + i) - sh * c) * r;
    if (gs) v += load(gs + i);
    store(ds + i, v);
    if (ddelta_kind == Kind::kBfloat) store_as(ddelta, ddelta_kind, i, v);
  }
}

bool cpu_autocast() {
  return at::autocast::is_autocast_enabled(at::kCPU);
}

// The two autograd functions below share these: with delta they return {s, n}, without
// {n} (autograd takes no undefined inputs, hence two functions).
struct NormKernels {
  static torch::autograd::tensor_list forward(torch::autograd::AutogradContext* ctx,
                                              const torch::Tensor& x_in,
                                              const torch::Tensor& delta_in, const torch::Tensor& g,
                                              bool bfloat16_out) {
    const int64_t d = x_in.size(-1);
    auto x = x_in.contiguous();
    auto delta = delta_in.defined() ? delta_in.contiguous() : delta_in;
    const Kind delta_kind = kind_of(delta), n_kind = bfloat16_out ? Kind::kBfloat : Kind::kFloat;
    auto s = delta.defined() ? torch::empty_like(x) : x;
    auto n = torch::empty_like(x, bfloat16_out ? torch::kBFloat16 : torch::kFloat32);
    const int64_t rows = x.numel() / d;
    auto rstd = torch::empty({rows}, x.options());
    const float *px = x.data_ptr<float>(), *pg = g.data_ptr<float>();
    const void* pdelta = delta.defined() ? delta.data_ptr() : nullptr;
    float *ps = s.data_ptr<float>(), *pr = rstd.data_ptr<float>();
    auto* pn = static_cast<char*>(n.data_ptr());
    const int64_t n_bytes = n.element_size();
    const int64_t delta_bytes = delta.defined() ? delta.element_size() : 0;
    at::parallel_for(0, rows, std::max<int64_t>(1, kRowElements / d), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        pr[r] = forward_row(
            px + r * d, pdelta ? static_cast<const char*>(pdelta) + r * d * delta_bytes : nullptr,
            delta_kind, pg, ps + r * d, pn + r * d * n_bytes, n_kind, d);
    });
    ctx->save_for_backward({s, g, rstd});
    ctx->saved_data["delta"] = static_cast<int64_t>(delta_kind);
    if (!delta.defined()) return {n};
    return {s, n};
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &s = saved[0], &g = saved[1], &rstd = saved[2];
    const auto delta_kind = static_cast<Kind>(ctx->saved_data["delta"].toInt());
    const bool has_delta = delta_kind != Kind::kNone;
    auto gn = grads[has_delta ? 1 : 0];
    auto gs = has_delta ? grads[0] : torch::Tensor();
    const int64_t d = s.size(-1), rows = s.numel() / d;
    if (!gn.defined()) gn = torch::zeros_like(s);
    gn = gn.contiguous();
    if (gs.defined()) gs = gs.contiguous();
    auto ds = torch::empty_like(s);
    auto ddelta = delta_kind == Kind::kBfloat ? torch::empty_like(s, torch::kBFloat16) : ds;
    // Each thread sums its rows' share of dg in its own row of partial sums.
    auto partial = torch::zeros({at::get_num_threads(), d}, s.options());
    const Kind gn_kind = kind_of(gn);
    const float *ps = s.data_ptr<float>(), *pg = g.data_ptr<float>(), *pr = rstd.data_ptr<float>();
    const float* pgs = gs.defined() ? gs.data_ptr<float>() : nullptr;
    const auto* pgn = static_cast<const char*>(gn.data_ptr());
    const int64_t gn_bytes = gn.element_size();
    float* pds = ds.data_ptr<float>();
    auto* pdd = static_cast<char*>(ddelta.data_ptr());
    const int64_t dd_bytes = ddelta.element_size();
    float* ppartial = partial.data_ptr<float>();
    at::parallel_for(0, rows, std::max<int64_t>(1, kRowElements / d), [&](int64_t r0, int64_t r1) {
      float* dg = ppartial + at::get_thread_num() * d;
      for (int64_t r = r0; r < r1; ++r)
        backward_row(ps + r * d, pr[r], pg, pgn + r * d * gn_bytes, gn_kind,
                     pgs ? pgs + r * d : nullptr, pds + r * d, pdd + r * d * dd_bytes,
                     delta_kind == Kind::kBfloat ? Kind::kBfloat : Kind::kNone, dg, d);
    });
    auto dg = partial.sum(0);
    if (!has_delta) return {ds, dg, torch::Tensor()};
    return {ds, ddelta, dg, torch::Tensor()};
  }
};

struct AddRmsNorm : torch::autograd::Function<AddRmsNorm> {
  static torch::autograd::tensor_list forward(torch::autograd::AutogradContext* ctx,
                                              const torch::Tensor& x, const torch::Tensor& delta,
                                              const torch::Tensor& g, bool bfloat16_out) {
    return NormKernels::forward(ctx, x, delta, g, bfloat16_out);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    return NormKernels::backward(ctx, std::move(grads));
  }
};

struct RmsNorm : torch::autograd::Function<RmsNorm> {
  static torch::autograd::tensor_list forward(torch::autograd::AutogradContext* ctx,
                                              const torch::Tensor& x, const torch::Tensor& g,
                                              bool bfloat16_out) {
    return NormKernels::forward(ctx, x, torch::Tensor(), g, bfloat16_out);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    return NormKernels::backward(ctx, std::move(grads));
  }
};

}  // namespace

std::pair<torch::Tensor, torch::Tensor> add_rms_norm_reference(const torch::Tensor& x,
                                                               const torch::Tensor& delta,
                                                               const torch::Tensor& g) {
  auto s = delta.defined() ? x + delta : x;
  return {s, s * torch::rsqrt(s.pow(2).mean(-1, /*keepdim=*/true) + kNormEps) * g};
}

std::pair<torch::Tensor, torch::Tensor> add_rms_norm(const torch::Tensor& x,
                                                     const torch::Tensor& delta,
                                                     const torch::Tensor& g) {
  const bool fits = x.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
                    g.scalar_type() == torch::kFloat32 && g.is_contiguous() &&
                    x.size(-1) % kLanes == 0 &&
                    (!delta.defined() || delta.scalar_type() == torch::kFloat32 ||
                     delta.scalar_type() == torch::kBFloat16);
  if (!x.device().is_cpu()) {
    // LibTorch's own kernel, as Python's F.rms_norm: the composed operations' ten-odd
    // passes over (N, S, d) are memory-bound kernels of their own there (docs/gpu.md).
    auto sum = delta.defined() ? x + delta : x;
    return {sum, at::rms_norm(sum, {sum.size(-1)}, g, kNormEps)};
  }
  if (!fits) return add_rms_norm_reference(x, delta, g);
  if (!delta.defined()) return {x, RmsNorm::apply(x, g, cpu_autocast())[0]};
  auto out = AddRmsNorm::apply(x, delta, g, cpu_autocast());
  return {out[0], out[1]};
}

}  // namespace igpt
