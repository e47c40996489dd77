// Image files of an image_folder dataset: any bytes, decoded by stb_image as the plugin
// does (grey and RGB, centre and random crops), end in pixels or in a wb::Error.
#include <image_decode.hpp>
#include <workbench/error.hpp>

#include <vector>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::as_file(data, size, ".png");
  std::vector<uint8_t> out(16 * 16 * 3);
  for (int64_t channels : {1, 3})
    for (bool random : {false, true}) {
      try {
        image_folder::decode_image(path, 16, channels, random, size, out.data());
      } catch (const wb::Error&) {
      }
    }
  return 0;
}
