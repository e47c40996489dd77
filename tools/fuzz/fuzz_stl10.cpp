// STL-10 binary files: any bytes as an X file (images) and as a y file of 3 labels end
// in tensors or in a wb::Error.
#include <stl10_records.hpp>
#include <workbench/error.hpp>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::as_file(data, size);
  try {
    stl10::read_images(path);
  } catch (const wb::Error&) {
  }
  try {
    stl10::read_labels(path, 3);
  } catch (const wb::Error&) {
  }
  return 0;
}
