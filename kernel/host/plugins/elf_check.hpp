#pragma once
// A shared library's file checked before dlopen maps it: a truncated library makes the
// loader touch pages past the end of the file, which kills the process with SIGBUS
// rather than failing the call. Reading the headers first turns that into a reason.
#include <string>

namespace wb {

// Why the file at `path` is not a loadable shared library for this machine (not ELF,
// another class or machine, not a shared object, a header or loadable segment past
// the end of the file), or "" when it looks loadable.
std::string elf_problem(const std::string& path);

}  // namespace wb
