#pragma once
// Cached artifacts that are trusted only after their checksum is checked. A file
// written through write_checked() gets a record beside it, `<file>.sha256`, in
// sha256sum's format (so `sha256sum -c final.pt.sha256` checks it by hand too), made
// from the bytes written before the file is renamed into place. A reader asks
// checked_problem() or reuse_checked() first: a file changed since it was written
// (a flipped bit, a torn or zero-byte write, a copy from elsewhere), one without a
// record, or a symbolic link is not reused but remade.
#include <functional>
#include <string>

#include <workbench/export.hpp>

namespace wb {

// SHA-256 in lower-case hex (OpenSSL): of bytes, and of a file's content.
WB_API std::string sha256_hex(const std::string& data);
WB_API std::string sha256_file(const std::string& path);

// The record's path: `path` + ".sha256".
WB_API std::string checksum_path(const std::string& path);

// write_atomically(path, write), recording the written bytes' SHA-256 beside them.
// Returns that SHA-256.
WB_API std::string write_checked(const std::string& path,
                                 const std::function<void(const std::string& temporary)>& write);

// Why the file at `path` may not be reused, or "" when it may: it is a regular file
// (not a symbolic link), its record exists and its content's SHA-256 equals the
// record's. When it may, *sha256 (if given) receives the checksum.
WB_API std::string checked_problem(const std::string& path, std::string* sha256 = nullptr);

// True when `path` may be reused (checked_problem() is ""). When it exists but may not,
// `warn` is told why ("<path>: ...; remaking it") and the file and its record are
// removed, so that the caller makes it anew. False, silently, when there is no file.
WB_API bool reuse_checked(const std::string& path,
                          const std::function<void(const std::string& message)>& warn,
                          std::string* sha256 = nullptr);

}  // namespace wb
