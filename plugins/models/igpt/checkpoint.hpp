#pragma once
// Activation checkpointing of one block (the `checkpoint_activations` key): the
// forward keeps only the block's inputs, and the backward runs the block again, with
// gradients, before going through it, trading a second forward of each block for not
// storing its activations (Chen et al. 2016; torch.utils.checkpoint's reentrant form).
// The recomputation runs under the forward's autocast (the workbench's bfloat16 scope,
// workbench/precision.hpp, or none), so it computes the same values.
#include <functional>
#include <utility>

#include <torch/types.h>

namespace igpt {

// (h, normed) -> (h', normed'): a block on the residual stream and its normalised copy.
using BlockFn = std::function<std::pair<torch::Tensor, torch::Tensor>(const torch::Tensor&,
                                                                      const torch::Tensor&)>;

// fn(h, normed), its activations recomputed in the backward pass. Gradients reach the
// parameters fn uses (accumulated into their .grad, as any backward does) and h and
// normed. With gradients off (feature passes) it is fn itself.
std::pair<torch::Tensor, torch::Tensor> checkpointed(const BlockFn& fn, const torch::Tensor& h,
                                                     const torch::Tensor& normed);

}  // namespace igpt
