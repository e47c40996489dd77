// Procedurally generated, labelled images at any size, for tests and benchmarks: each
// class is a pattern (stripes in three directions, checkerboard, disc, square, ring,
// cross, gradient, two dots) drawn with random colours, position, scale and phase plus
// Gaussian noise. The images depend on data_seed only, not on the experiment's seed, so
// a seed sweep trains on the same data.
#include <cmath>
#include <random>

#include <carved_dataset.hpp>

namespace {

const std::vector<std::string> kPatterns = {"horizontal stripes",
                                            "vertical stripes",
                                            "diagonal stripes",
                                            "checkerboard",
                                            "disc",
                                            "square",
                                            "ring",
                                            "cross",
                                            "gradient",
                                            "two dots"};

// Coverage in [0, 1] of pixel (y, x) of a size x size image by pattern `cls`.
struct Pattern {
  int64_t cls;
  double period, phase, cy, cx, radius;
  double at(double y, double x, double size) const {
    const double pi = M_PI;
    auto wave = [&](double t) { return std::sin(2 * pi * t / period + phase) > 0 ? 1.0 : 0.0; };
    const double dy = y - cy, dx = x - cx, r = std::sqrt(dy * dy + dx * dx);
    switch (cls) {
      case 0:
        return wave(y);
      case 1:
        return wave(x);
      case 2:
        return wave((x + y) / std::sqrt(2.0));
      case 3:
        return wave(x) == wave(y) ? 1.0 : 0.0;
      case 4:
        return r < radius ? 1.0 : 0.0;
      case 5:
        return std::abs(dy) < radius && std::abs(dx) < radius ? 1.0 : 0.0;
      case 6:
        return std::abs(r - radius) < std::max(1.0, radius / 3) ? 1.0 : 0.0;
      case 7:
        return std::abs(dy) < radius / 3 || std::abs(dx) < radius / 3 ? 1.0 : 0.0;
      case 8:
        return std::clamp(0.5 + 0.5 * std::sin(phase) * (x - size / 2) / (size / 2) +
                              0.5 * std::cos(phase) * (y - size / 2) / (size / 2),
                          0.0, 1.0);
      default: {  // two dots, mirrored through the centre
        const double ey = size - 1 - cy, ex = size - 1 - cx;
        const double r2 = std::sqrt((y - ey) * (y - ey) + (x - ex) * (x - ex));
        return std::min(r, r2) < radius / 2 + 1 ? 1.0 : 0.0;
      }
    }
  }
};

class Synthetic : public datasets::CarvedDataset {
 public:
  static void declare(wb::Schema& s) {
    s.integer("size", 32, "image side in pixels").range(4, 4096);
    s.integer("channels", 3, "1 (grey) or 3 (RGB)").range(1, 3);
    s.integer("classes", 10, "number of patterns used (the first N)").range(2, 10);
    s.integer("train", 5000, "images in the official training set").at_least(1);
    s.integer("test", 1000, "images in the test set").at_least(1);
    s.number("noise", 8.0, "standard deviation of the added noise, in 0..255 units").at_least(0);
    s.integer("data_seed", 0, "seed of the images (the experiment's seed does not change them)")
        .at_least(0);
    declare_val_fraction(s, 0.1);
  }
  explicit Synthetic(wb::PluginContext& ctx) : CarvedDataset(ctx, "synthetic") {}

  std::vector<std::string> class_names() const override {
    return {kPatterns.begin(), kPatterns.begin() + ctx_.config().get_int("classes")};
  }

 private:
  wb::ImageSplit read_official(const std::string& split) override {
    if (split != "train" && split != "test")
      throw wb::Error(fmt::format("synthetic: no split '{}' (train, val, test)", split));
    const auto& c = ctx_.config();
    const int64_t n = c.get_int(split), size = c.get_int("size"), ch = c.get_int("channels"),
                  classes = c.get_int("classes");
    std::mt19937_64 rng(static_cast<uint64_t>(c.get_int("data_seed")) * 2 + (split == "test"));
    std::uniform_real_distribution<double> u(0, 1);
    std::normal_distribution<double> gauss(0, 1);
    const double sigma = c.get_float("noise");
    auto images = torch::empty({n, size, size, ch}, torch::kUInt8);
    auto labels = torch::empty({n}, torch::kLong);
    auto* px = images.data_ptr<uint8_t>();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t cls = i % classes;
      labels[i] = cls;
      Pattern p{cls,
                size * (0.15 + 0.25 * u(rng)),
                2 * M_PI * u(rng),
                size * (0.3 + 0.4 * u(rng)),
                size * (0.3 + 0.4 * u(rng)),
                size * (0.12 + 0.18 * u(rng))};
      // Foreground and background colours far enough apart to see the pattern.
      double fg[3], bg[3];
      do {
        for (int64_t e = 0; e < 3; ++e) fg[e] = 255 * u(rng), bg[e] = 255 * u(rng);
      } while (std::abs((fg[0] + fg[1] + fg[2]) - (bg[0] + bg[1] + bg[2])) < 3 * 60);
      for (int64_t y = 0; y < size; ++y)
        for (int64_t x = 0; x < size; ++x) {
          const double m =
              p.at(static_cast<double>(y), static_cast<double>(x), static_cast<double>(size));
          for (int64_t e = 0; e < ch; ++e) {
            const double f = ch == 1 ? (fg[0] + fg[1] + fg[2]) / 3 : fg[e];
            const double b = ch == 1 ? (bg[0] + bg[1] + bg[2]) / 3 : bg[e];
            const double v = b + (f - b) * m + sigma * gauss(rng);
            *px++ = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
          }
        }
    }
    return {images, labels};
  }
};

}  // namespace

WB_PLUGIN(Dataset, "synthetic", "1.0.0",
          "procedurally generated patterns at any size, for tests and benchmarks", Synthetic)
