#pragma once
#include <chrono>
#include <memory>
#include <string>

#include <workbench/context.hpp>

namespace wb {

// A progress bar with rate and ETA on a terminal (redrawn in place, at most 10 times
// a second); on a pipe or CI log, a plain line every `plain_interval` seconds.
class ConsoleProgress : public Progress {
 public:
  ConsoleProgress(std::string label, int64_t total, bool terminal, double plain_interval = 15.0);
  ~ConsoleProgress() override;
  void advance(int64_t n, const std::string& note) override;
  void finish(const std::string& note) override;

 private:
  void draw(bool final);
  std::string label_;
  int64_t total_, done_ = 0;
  bool terminal_, finished_ = false;
  double plain_interval_;
  std::string note_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

std::unique_ptr<Progress> make_progress(const std::string& label, int64_t total);
// "1:02:03" or "2:03"
std::string format_duration(double seconds);

}  // namespace wb
