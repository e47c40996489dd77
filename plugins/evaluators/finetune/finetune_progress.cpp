#include "finetune_progress.hpp"

#include <string>

#include <fmt/format.h>
#include <workbench/error.hpp>

namespace finetune {

namespace {
void put_list(wb::TrainingState& s, const std::string& name, const std::vector<torch::Tensor>& v) {
  s[name + ".count"] = torch::tensor(static_cast<int64_t>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) s[fmt::format("{}.{}", name, i)] = v[i];
}
const torch::Tensor& get(const wb::TrainingState& s, const std::string& name) {
  auto it = s.find(name);
  if (it == s.end()) throw wb::Error("finetune: the saved progress has no '" + name + "'");
  return it->second;
}
std::vector<torch::Tensor> get_list(const wb::TrainingState& s, const std::string& name) {
  std::vector<torch::Tensor> v;
  const int64_t n = get(s, name + ".count").item<int64_t>();
  for (int64_t i = 0; i < n; ++i) v.push_back(get(s, fmt::format("{}.{}", name, i)));
  return v;
}
}  // namespace

wb::TrainingState Progress::to_state() const {
  wb::TrainingState s;
  // (7): epoch, next_row, loss_sum, epochs_run, best_val, since_best, curve rows.
  s["counters"] = torch::tensor({double(epoch), double(next_row), loss_sum, double(epochs_run),
                                 best_val, double(since_best), double(curve.size())},
                                torch::kDouble);
  put_list(s, "best_model", best_model);
  put_list(s, "best_head", best_head);
  s["epoch_gen"] = epoch_gen;
  s["gen"] = gen;
  std::vector<double> flat;
  for (const auto& row : curve) flat.insert(flat.end(), row.begin(), row.end());
  s["curve"] = torch::tensor(flat, torch::kDouble).reshape({int64_t(curve.size()), 4});
  return s;
}

Progress Progress::from_state(const wb::TrainingState& s) {
  Progress p;
  const auto c = get(s, "counters").to(torch::kDouble).contiguous();
  if (c.numel() != 7) throw wb::Error("finetune: the saved progress is of another version");
  const double* v = c.data_ptr<double>();
  p.epoch = int64_t(v[0]);
  p.next_row = int64_t(v[1]);
  p.loss_sum = v[2];
  p.epochs_run = int64_t(v[3]);
  p.best_val = v[4];
  p.since_best = int64_t(v[5]);
  p.best_model = get_list(s, "best_model");
  p.best_head = get_list(s, "best_head");
  p.epoch_gen = get(s, "epoch_gen");
  p.gen = get(s, "gen");
  const auto curve = get(s, "curve").to(torch::kDouble).contiguous();
  for (int64_t r = 0; r < curve.size(0); ++r) {
    const double* row = curve[r].data_ptr<double>();
    p.curve.push_back({row[0], row[1], row[2], row[3]});
  }
  return p;
}

}  // namespace finetune
