#pragma once
// A reader of the safetensors format (huggingface/safetensors, format.md): an 8-byte
// little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets:
// [begin, end]}, "__metadata__": {...}}, then the tensors' bytes, offsets counted from
// the end of the header. Every offset, length and shape is checked against the file
// before a byte is read into a tensor; a problem names the file and the tensor.
#include <map>
#include <string>

#include <torch/types.h>

namespace igpt {

// Every tensor of `path`, on the CPU, in its stored dtype (F64, F32, F16, BF16, I64,
// I32, I16, I8, U8, BOOL).
std::map<std::string, torch::Tensor> read_safetensors(const std::string& path);

}  // namespace igpt
