#pragma once
// Data-parallel gradient averaging overlapped with the backward pass: the scheme of
// c10d's Reducer (PyTorch DDP), on the Cluster's process group.
//
// Parameters are grouped into buckets of about `bucket_bytes`, in reverse order of
// registration, which is about the order backward produces their gradients (the last
// layer first). A hook on each parameter copies its gradient into its bucket's flat
// buffer; a bucket whose gradients are all in starts its all-reduce at once, on Gloo's
// threads, while backward goes on through earlier layers. Buckets start strictly in
// index order, so the collectives of every worker pair up.
//
// With gradient accumulation only the last micro-batch's backward is reduced (arm()
// before it): its hooks add the gradient accumulated so far.
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include <torch/types.h>

#include "distributed/cluster.hpp"

namespace wb {

class GradientReducer {
 public:
  // 25 MiB, DDP's default bucket cap: small enough that the first all-reduce starts
  // early in backward, large enough that each one moves a worthwhile amount.
  static constexpr int64_t kDefaultBucketBytes = 25ll << 20;

  GradientReducer(Cluster& cluster, std::vector<torch::Tensor> params,
                  int64_t bucket_bytes = kDefaultBucketBytes);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // The next backward's gradients (plus what earlier micro-batches accumulated) are to
  // be averaged over the workers.
  void arm();
  // After that backward: starts what has not started (a parameter that got no gradient
  // counts as zeros), waits for every bucket, and sets each parameter's gradient to the
  // mean over workers. Parameters without a gradient keep none (every worker runs the
  // same model, so all agree on which those are).
  void finish();

  int64_t buckets() const { return static_cast<int64_t>(buckets_.size()); }

 private:
  struct Slot {  // one parameter's place in its bucket
    int64_t bucket, offset;
    bool filled = false;
  };
  struct Bucket {
    torch::Tensor flat;          // (numel,) the bucket's gradients side by side
    int64_t params = 0;          // how many parameters it holds
    int64_t pending = 0;         // of those, how many have not delivered this backward
    int64_t size = 0;            // elements
    std::function<void()> wait;  // set once its all-reduce has started
  };
  void on_gradient(size_t i, const torch::Tensor& grad);
  void start_ready_buckets();  // in index order, as far as buckets are complete

  Cluster& cluster_;
  std::vector<torch::Tensor> params_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::vector<unsigned> hooks_;
  size_t next_bucket_ = 0;
  bool armed_ = false;
  std::mutex mutex_;  // hooks may run on autograd's device threads
};

}  // namespace wb
