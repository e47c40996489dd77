// CIFAR-10 (one label byte) and CIFAR-100 (two, the fine one kept) record files: any
// bytes end in images and labels or in a wb::Error.
#include <cifar_records.hpp>
#include <workbench/error.hpp>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::as_file(data, size);
  try {
    cifar::read_records(path, 1, 0, 10);
  } catch (const wb::Error&) {
  }
  try {
    cifar::read_records(path, 2, 1, 100);
  } catch (const wb::Error&) {
  }
  return 0;
}
