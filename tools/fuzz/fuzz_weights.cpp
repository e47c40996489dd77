// Released weights (plugins/models/igpt): the bytes as a safetensors file, and as the
// data.pkl of a torch.save archive (written around them with LibTorch's own zip
// writer, beside one storage record, so the pickle interpreter sees them): any bytes
// end in tensors or in a wb::Error.
#include <caffe2/serialize/inline_container.h>

#include <fstream>

#include <safetensors.hpp>
#include <state_dict_reader.hpp>
#include <workbench/error.hpp>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::as_file(data, size, ".safetensors");
  try {
    igpt::read_safetensors(path);
  } catch (const wb::Error&) {
  }
  const std::string zip = path + ".bin";
  {
    std::ofstream out(zip, std::ios::binary);
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* buf, size_t n) -> size_t {
      out.write(static_cast<const char*>(buf), static_cast<std::streamsize>(n));
      return n;
    });
    writer.writeRecord("data.pkl", data, size);
    static const float storage[16] = {};
    writer.writeRecord("data/0", storage, sizeof storage);
    writer.writeRecord("byteorder", "little", 6);
    writer.writeEndOfFile();
  }
  try {
    igpt::read_state_dict(zip);
  } catch (const wb::Error&) {
  }
  return 0;
}
