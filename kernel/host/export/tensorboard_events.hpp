#pragma once
// TensorBoard's event file, written without TensorFlow or a protobuf library: a
// sequence of records (uint64 length, masked CRC-32C of the length, the data, masked
// CRC-32C of the data; little-endian), each an Event protobuf. The first event names
// the file version ("brain.Event:2": readers then treat steps that go back as one run,
// not as a restart to purge). Scalars are Summary.Value.simple_value (float32, what
// TensorBoard's EventAccumulator returns by Scalars(tag)); images are
// Summary.Value.image with the PNG's bytes.
// tensorflow/core/util/event.proto and core/framework/summary.proto give the fields.
#include <cstdint>
#include <fstream>
#include <string>

namespace wb {

// CRC-32C (Castagnoli) of `n` bytes, by a table (this file's whole cost is I/O).
uint32_t crc32c(const void* data, size_t n);

class EventWriter {
 public:
  // Creates `path` (replacing it) and writes the file-version event at `wall_time`.
  EventWriter(const std::string& path, double wall_time);
  void scalar(const std::string& tag, int64_t step, double value, double wall_time);
  // A PNG file's bytes (width and height read from its header); an error naming `tag`
  // when they are not a PNG.
  void image(const std::string& tag, int64_t step, const std::string& png, double wall_time);
  // Flushes and checks that everything reached the file (an error naming it if not).
  void close();

 private:
  void record(const std::string& event);
  std::string path_;
  std::ofstream out_;
};

}  // namespace wb
