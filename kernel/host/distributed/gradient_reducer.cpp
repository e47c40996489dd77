#include "distributed/gradient_reducer.hpp"

#include <fmt/format.h>
#include <workbench/error.hpp>

namespace wb {

GradientReducer::GradientReducer(Cluster& cluster, std::vector<torch::Tensor> params,
                                 int64_t bucket_bytes)
    : cluster_(cluster), params_(std::move(params)), slots_(params_.size()) {
  // Reverse registration order: the output layer's gradients arrive first.
  for (size_t k = params_.size(); k-- > 0;) {
    const auto& p = params_[k];
    if (!p.requires_grad()) continue;
    if (p.scalar_type() != params_.back().scalar_type())
      throw Error("data-parallel training needs parameters of one dtype");
    if (buckets_.empty() || (buckets_.back().size > 0 &&
                             (buckets_.back().size + p.numel()) * p.element_size() > bucket_bytes))
      buckets_.push_back({});
    Bucket& b = buckets_.back();
    slots_[k] = {static_cast<int64_t>(buckets_.size() - 1), b.size};
    b.size += p.numel();
    ++b.params;
  }
  for (auto& b : buckets_) b.flat = torch::zeros({b.size}, params_.back().options());
  for (size_t k = 0; k < params_.size(); ++k) {
    if (!params_[k].requires_grad()) continue;
    hooks_.push_back(
        params_[k].register_hook([this, k](const torch::Tensor& grad) { on_gradient(k, grad); }));
  }
}

GradientReducer::~GradientReducer() {
  size_t h = 0;
  for (auto& p : params_)
    if (p.requires_grad()) p.remove_hook(hooks_[h++]);
}

void GradientReducer::arm() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& s : slots_) s.filled = false;
  for (auto& b : buckets_) {
    b.pending = b.params;
    b.wait = nullptr;
  }
  next_bucket_ = 0;
  armed_ = true;
}

void GradientReducer::on_gradient(size_t k, const torch::Tensor& grad) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_) return;  // an earlier micro-batch: accumulate locally, as usual
  Slot& s = slots_[k];
  if (s.filled) throw Error("a parameter's gradient arrived twice in one backward");
  Bucket& b = buckets_[s.bucket];
  auto dst = b.flat.narrow(0, s.offset, params_[k].numel());
  // The hook sees this backward's gradient before it is added to .grad: add what
  // earlier micro-batches accumulated there.
  const auto& acc = params_[k].grad();
  if (acc.defined())
    torch::add_out(dst, acc.reshape(-1), grad.reshape(-1));
  else
    dst.copy_(grad.reshape(-1));
  s.filled = true;
  --b.pending;
  start_ready_buckets();
}

void GradientReducer::start_ready_buckets() {
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].pending == 0) {
    Bucket& b = buckets_[next_bucket_++];
    b.wait = cluster_.allreduce_sum_async(b.flat);
  }
}

void GradientReducer::finish() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    armed_ = false;
    for (size_t k = 0; k < params_.size(); ++k) {
      Slot& s = slots_[k];
      if (!params_[k].requires_grad() || s.filled) continue;
      buckets_[s.bucket].flat.narrow(0, s.offset, params_[k].numel()).zero_();
      --buckets_[s.bucket].pending;
    }
    start_ready_buckets();
  }
  const double inv_world = 1.0 / static_cast<double>(cluster_.world());
  for (auto& b : buckets_) {
    b.wait();
    b.flat.mul_(inv_world);
  }
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < params_.size(); ++k) {
    const Slot& s = slots_[k];
    if (!params_[k].requires_grad() || !s.filled) continue;
    auto mean = buckets_[s.bucket].flat.narrow(0, s.offset, params_[k].numel()).view_as(params_[k]);
    params_[k].mutable_grad().copy_(mean);
  }
}

}  // namespace wb
