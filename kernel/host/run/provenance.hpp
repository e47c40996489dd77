#pragma once
#include <string>

#include "store/store.hpp"

namespace wb {

// git commit and dirty flag of the source tree the binary was built from (asked of
// git at run time, so a rebuild after a commit is never mislabelled), host name,
// versions, and the command line.
Provenance collect_provenance(const std::string& command_line);
std::string host_name();
std::string workbench_version();

}  // namespace wb
