#pragma once
// The [training] section's keys, declared beside the trainer that reads them (as a
// plugin declares its own).
#include <workbench/config.hpp>

namespace wb {

const Schema& training_schema();

}  // namespace wb
