// IDX files (MNIST, Fashion-MNIST) as images and as labels: any bytes end in tensors or
// in a wb::Error, never in a crash, a hang or undefined behaviour.
#include <idx_dataset.hpp>
#include <workbench/error.hpp>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::as_file(data, size);
  try {
    wb::DataFile f(path);
    idx::read_images(f);
  } catch (const wb::Error&) {
  }
  try {
    wb::DataFile f(path);
    idx::read_labels(f, 10);
  } catch (const wb::Error&) {
  }
  return 0;
}
