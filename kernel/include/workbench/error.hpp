#pragma once
#include <stdexcept>
#include <string>

#include <workbench/export.hpp>

namespace wb {

// Every error a plugin or the host reports to a user. The message must name what
// is wrong and where (file, line, key, record); the CLI prints it and exits non-zero.
class WB_API Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
  ~Error() override;
};

// An exception's message as a user reads it: LibTorch's (c10::Error) without the C++
// stack frames its what() carries.
WB_API std::string message_of(const std::exception& e);

}  // namespace wb
