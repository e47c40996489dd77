#pragma once
// One image file to size x size pixels: decoded with stb_image (JPEG, PNG), cropped
// (the centred square of the shorter side, or torchvision's random resized crop) and
// resized. Apart from the plugin so that tools/fuzz can feed it any bytes.
#include <cstdint>
#include <string>

namespace image_folder {

// Writes size * size * channels bytes (row-major, channels last) to dst; throws
// wb::Error naming `file` when it cannot be decoded or resized.
void decode_image(const std::string& file, int64_t size, int64_t channels, bool random,
                  uint64_t seed, uint8_t* dst);

}  // namespace image_folder
