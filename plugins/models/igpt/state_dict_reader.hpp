#pragma once
// The tensors of a `torch.save`d state dict (a pytorch_model.bin), read without Python.
// The file is a zip (read by LibTorch's PyTorchStreamReader) of data.pkl, a pickle of
// the dict, and one record per storage. LibTorch's own unpickler turns
// collections.OrderedDict (what state_dict() returns) into None, so data.pkl is read
// here by a small interpreter of the pickle opcodes such a dict uses (protocols 2-4):
// strings, integers, tuples, dicts, memo, persistent ids for storages, and the calls
// collections.OrderedDict, torch._utils._rebuild_tensor_v2 and _rebuild_parameter.
// Anything else (another class, another call) is refused naming it.
#include <map>
#include <string>

#include <torch/types.h>

namespace igpt {

// Every string -> tensor entry of the top-level dict in `path`, on the CPU.
std::map<std::string, torch::Tensor> read_state_dict(const std::string& path);

}  // namespace igpt
