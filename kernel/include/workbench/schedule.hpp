#pragma once
// The learning-rate schedule, shared by the host's trainer (pretraining) and the
// evaluators that train the model (fine-tuning), so that both warm up and decay alike.
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace wb {

// Learning rate at `step` (0-based) of `steps`: linear warm-up over `warmup` steps,
// then cosine to 0 at `steps`, or the peak throughout (`cosine` false: the rate never
// depends on `steps`). Inline: the SDK library exports no symbol for it.
inline double learning_rate(double peak, int64_t step, int64_t warmup, int64_t steps,
                            bool cosine = true) {
  if (step < warmup) return peak * double(step + 1) / double(warmup);
  if (!cosine || steps <= warmup) return peak;
  const double progress = double(step - warmup) / double(steps - warmup);
  return peak * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
}

}  // namespace wb
