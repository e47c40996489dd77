#pragma once
// Small text helpers for error messages: "did you mean" and lists.
#include <string>
#include <vector>

namespace wb {

// Edit distance (insert, delete, substitute, swap of neighbours).
size_t edit_distance(const std::string& a, const std::string& b);
// The candidate nearest to `word`, or "" when none is near enough to be a typo.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);
std::string join(const std::vector<std::string>& parts, const std::string& sep);

}  // namespace wb
