#include "export/tensorboard_events.hpp"

#include <array>
#include <cstring>

#include <fmt/format.h>
#include <workbench/error.hpp>

namespace wb {

namespace {

// The reflected polynomial of CRC-32C; table[i] is the CRC of the byte i.
std::array<uint32_t, 256> crc32c_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (c & 1 ? 0x82F63B78u : 0u);
    t[i] = c;
  }
  return t;
}

// TFRecord's mask: a CRC of data that holds CRCs is not itself a CRC of data.
uint32_t masked_crc(const void* data, size_t n) {
  const uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

// Protocol buffers' wire format, the few pieces an Event needs.
void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void key(std::string& out, int field, int wire_type) {
  varint(out, static_cast<uint64_t>(field) << 3 | static_cast<uint64_t>(wire_type));
}
void bytes_field(std::string& out, int field, const std::string& bytes) {
  key(out, field, 2);
  varint(out, bytes.size());
  out += bytes;
}
void int_field(std::string& out, int field, int64_t v) {
  key(out, field, 0);
  varint(out, static_cast<uint64_t>(v));  // int64 and int32: two's complement, 10 bytes if < 0
}
template <class T>
void fixed_field(std::string& out, int field, T v) {  // double (wire type 1), float (5)
  static_assert(sizeof(T) == 8 || sizeof(T) == 4);
  key(out, field, sizeof(T) == 8 ? 1 : 5);
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian, as x86 and the wire format are
  out.append(b, sizeof(T));
}

// Event { wall_time = 1; step = 2; summary = 5 { value = 1 { tag = 1; ... } } }.
std::string event_with_value(double wall_time, int64_t step, const std::string& value) {
  std::string summary, event;
  bytes_field(summary, 1, value);
  fixed_field(event, 1, wall_time);
  int_field(event, 2, step);
  bytes_field(event, 5, summary);
  return event;
}

uint32_t big_endian32(const std::string& s, size_t at) {
  return static_cast<uint32_t>(static_cast<unsigned char>(s[at])) << 24 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

}  // namespace

uint32_t crc32c(const void* data, size_t n) {
  static const auto table = crc32c_table();
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

EventWriter::EventWriter(const std::string& path, double wall_time)
    : path_(path), out_(path, std::ios::binary | std::ios::trunc) {
  if (!out_) throw Error(fmt::format("{}: cannot be written", path));
  std::string event;
  fixed_field(event, 1, wall_time);
  bytes_field(event, 3, "brain.Event:2");  // file_version
  record(event);
}

void EventWriter::scalar(const std::string& tag, int64_t step, double value, double wall_time) {
  std::string v;
  bytes_field(v, 1, tag);
  fixed_field(v, 2, static_cast<float>(value));  // simple_value
  record(event_with_value(wall_time, step, v));
}

void EventWriter::image(const std::string& tag, int64_t step, const std::string& png,
                        double wall_time) {
  // The PNG signature, then the IHDR chunk: width and height, big-endian, at 16 and 20.
  static const char kSignature[] = "\x89PNG\r\n\x1a\n";
  if (png.size() < 24 || png.compare(0, 8, kSignature, 8) != 0 || png.compare(12, 4, "IHDR") != 0)
    throw Error(fmt::format("image '{}': not a PNG file", tag));
  std::string image, v;
  int_field(image, 1, big_endian32(png, 20));  // height
  int_field(image, 2, big_endian32(png, 16));  // width
  int_field(image, 3, 3);                      // colorspace: RGB
  bytes_field(image, 4, png);                  // encoded_image_string
  bytes_field(v, 1, tag);
  bytes_field(v, 4, image);
  record(event_with_value(wall_time, step, v));
}

void EventWriter::record(const std::string& event) {
  const uint64_t length = event.size();
  char header[12];
  std::memcpy(header, &length, 8);
  const uint32_t length_crc = masked_crc(header, 8);
  std::memcpy(header + 8, &length_crc, 4);
  const uint32_t data_crc = masked_crc(event.data(), event.size());
  out_.write(header, 12);
  out_.write(event.data(), static_cast<std::streamsize>(event.size()));
  out_.write(reinterpret_cast<const char*>(&data_crc), 4);
  if (!out_) throw Error(fmt::format("{}: write failed (disk full?)", path_));
}

void EventWriter::close() {
  out_.flush();
  out_.close();
  if (!out_) throw Error(fmt::format("{}: write failed (disk full?)", path_));
}

}  // namespace wb
