#pragma once
// Writing a file so that no reader ever sees it half-written and writers of the same
// file never trip over each other: each write goes to a temporary name of its own
// (process and call), then is renamed over the final name, which is atomic. Two runs
// that make the same artifact at once (a shared token cache or checkpoint) both
// succeed; the last rename wins, and both wrote the same content.
#include <functional>
#include <string>

#include <torch/serialize/output-archive.h>
#include <workbench/export.hpp>

namespace wb {

// `path` + ".tmp.<host>.<pid>.<n>", n counting the calls of this process: unique among
// the machines sharing a folder, and telling whose a temporary left behind was.
WB_API std::string unique_temp_path(const std::string& path);

// Whether `file_name` (a name, not a path) is such a temporary made on this machine by
// a process that no longer exists: what a writer killed mid-write leaves behind.
// Another machine's (a shared folder) or a live process's never are.
WB_API bool is_orphaned_temporary(const std::string& file_name);

// write(temporary) then rename(temporary, path). If write throws, the temporary file is
// removed and the exception goes on; `path` is untouched.
WB_API void write_atomically(const std::string& path,
                             const std::function<void(const std::string& temporary)>& write);

// Writes `bytes` to `path`, checking every call: a full or failing disk is a wb::Error
// naming the file, the reason and the space left on its file system.
WB_API void write_file(const std::string& path, const std::string& bytes);

// Saves a LibTorch archive to `path` through memory and write_file. Use it rather than
// OutputArchive::save_to(path): LibTorch's file writer, when a write fails (a full
// disk), writes again from its destructor while the first error unwinds, and the
// process aborts.
WB_API void save_archive(torch::serialize::OutputArchive& archive, const std::string& path);

}  // namespace wb
