#pragma once
#include <ostream>
#include <string>
#include <vector>

namespace wb {

// A plain text table, columns padded to their widest cell, for terminals and CI logs.
void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

}  // namespace wb
