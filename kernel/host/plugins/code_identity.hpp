#pragma once
// A plugin's identity is its code, not its file's bytes: `cmake --install` rewrites a
// library's RUNPATH in place (the build tree's folders become $ORIGIN/../.. and the
// rest padded with NULs), which changed the file's SHA-256 and so every key that follows
// from it, and the installed workbench never found what the build tree had made. The
// identity blanks the run path string (and the NULs after it) before hashing; every
// other byte counts, so changed code never reuses an artifact.
#include <string>

namespace wb {

// SHA-256 (hex) of the shared library at `path` with the strings of its DT_RUNPATH and
// DT_RPATH entries zeroed up to the next string of .dynstr; of the whole file when it
// has no dynamic section the headers lead to (elf_problem has vetted it before).
std::string code_sha256(const std::string& path);

}  // namespace wb
