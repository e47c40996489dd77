#include "platform/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace wb {

std::string format_duration(double seconds) {
  if (seconds < 0 || seconds > 1e8) return "?";
  auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

ConsoleProgress::ConsoleProgress(std::string label, int64_t total, bool terminal,
                                 double plain_interval)
    : label_(std::move(label)),
      total_(total),
      terminal_(terminal),
      plain_interval_(plain_interval),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ConsoleProgress::~ConsoleProgress() {
  if (!finished_ && done_ > 0) finish("");
}

void ConsoleProgress::advance(int64_t n, const std::string& note) {
  done_ += n;
  if (!note.empty()) note_ = note;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since >= (terminal_ ? 0.1 : plain_interval_)) {
    last_draw_ = now;
    draw(false);
  }
}

void ConsoleProgress::finish(const std::string& note) {
  if (finished_) return;
  finished_ = true;
  if (!note.empty()) note_ = note;
  draw(true);
}

void ConsoleProgress::draw(bool final) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = elapsed > 0 ? done_ / elapsed : 0;
  double eta = rate > 0 && total_ > 0 ? (total_ - done_) / rate : -1;
  std::string counts = total_ > 0 ? fmt::format("{}/{}", done_, total_) : fmt::format("{}", done_);
  std::string timing = final ? fmt::format("in {}", format_duration(elapsed))
                             : fmt::format("ETA {}", format_duration(eta));
  std::string line;
  if (terminal_ && total_ > 0) {
    const int width = 24;
    int filled = static_cast<int>(width * std::min<double>(1.0, double(done_) / total_));
    line = fmt::format("{:<12} [{}{}] {} {:.1f}/s {} {}", label_, std::string(filled, '#'),
                       std::string(width - filled, '.'), counts, rate, timing, note_);
  } else {
    line = fmt::format("{:<12} {} {:.1f}/s {} {}", label_, counts, rate, timing, note_);
  }
  if (terminal_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

std::unique_ptr<Progress> make_progress(const std::string& label, int64_t total) {
  return std::make_unique<ConsoleProgress>(label, total, isatty(STDERR_FILENO) == 1);
}

}  // namespace wb
