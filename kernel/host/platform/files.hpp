#pragma once
// Two small file facts the host needs in several rooms.
#include <filesystem>
#include <string>

namespace wb {

// The whole file's bytes; an error naming it when it cannot be opened.
std::string read_file(const std::filesystem::path& path);

// Whether `real` (a canonical path) lies at or below `root` (canonical too): what stops
// a symbolic link or a `..` from leading out of a folder.
bool lies_within(const std::filesystem::path& root, const std::filesystem::path& real);

}  // namespace wb
