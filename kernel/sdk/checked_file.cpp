#include <workbench/checked_file.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <workbench/atomic_file.hpp>
#include <workbench/error.hpp>

namespace wb {

namespace {

struct Digest {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  Digest() { EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr); }
  void update(const void* p, size_t n) { EVP_DigestUpdate(ctx.get(), p, n); }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx.get(), md, &n);
    std::string out;
    for (unsigned int i = 0; i < n; ++i) out += fmt::format("{:02x}", md[i]);
    return out;
  }
};

// The checksums a record accepts (none when there is no readable record): the first
// word of each line, as sha256sum writes them. One, but two while write_checked swaps
// the file: the old one's and the new one's.
std::vector<std::string> recorded_sha256s(const std::string& path) {
  std::ifstream in(checksum_path(path));
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string word;
    if (words >> word && word.size() == 64) out.push_back(word);
  }
  return out;
}

// Replaces the record of `path` with one accepting `sha256s`.
void write_record(const std::string& path, const std::vector<std::string>& sha256s) {
  const std::string name = std::filesystem::path(path).filename().string();
  std::string text;
  for (const auto& sha : sha256s) text += fmt::format("{}  {}\n", sha, name);
  write_atomically(checksum_path(path), [&](const std::string& rtmp) { write_file(rtmp, text); });
}

}  // namespace

std::string sha256_hex(const std::string& data) {
  Digest d;
  d.update(data.data(), data.size());
  return d.hex();
}

std::string sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open for checksum", path));
  Digest d;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    d.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw Error(fmt::format("{}: cannot read for checksum", path));
  return d.hex();
}

std::string checksum_path(const std::string& path) {
  return path + ".sha256";
}

std::string write_checked(const std::string& path,
                          const std::function<void(const std::string&)>& write) {
  std::string sha;
  // The file being replaced, if its record names it: accepted (still checked against
  // its checksum) until the new file is in place.
  const auto before = recorded_sha256s(path);
  write_atomically(path, [&](const std::string& tmp) {
    write(tmp);
    sha = sha256_file(tmp);
    // The record before the rename: a process killed in between leaves the old file
    // (or none) beside a record that accepts the old file and the new, so a resumable
    // checkpoint being overwritten is never lost to a kill at that moment.
    std::vector<std::string> accepted;
    if (!before.empty() && before.front() != sha) accepted.push_back(before.front());
    accepted.push_back(sha);
    write_record(path, accepted);
  });
  write_record(path, {sha});  // the new file alone from now on
  return sha;
}

std::string checked_problem(const std::string& path, std::string* sha256) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return fmt::format("cannot read ({})", std::strerror(errno));
  if (S_ISLNK(st.st_mode))
    return "is a symbolic link (an artifact is a file of the store's own folder)";
  if (!S_ISREG(st.st_mode)) return "is not a regular file";
  const auto accepted = recorded_sha256s(path);
  if (accepted.empty()) return fmt::format("has no checksum record ({})", checksum_path(path));
  std::string have;
  try {
    have = sha256_file(path);
  } catch (const Error& e) {
    return e.what();
  }
  if (std::find(accepted.begin(), accepted.end(), have) == accepted.end())
    return fmt::format("its content changed since it was written (SHA-256 {}..., recorded {}...)",
                       have.substr(0, 12), accepted.back().substr(0, 12));
  if (sha256) *sha256 = have;
  return "";
}

bool reuse_checked(const std::string& path, const std::function<void(const std::string&)>& warn,
                   std::string* sha256) {
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(path, ec);
  if (ec || status.type() == std::filesystem::file_type::not_found) return false;
  const std::string problem = checked_problem(path, sha256);
  if (problem.empty()) return true;
  warn(fmt::format("{}: {}; remaking it", path, problem));
  std::filesystem::remove(path, ec);  // a symbolic link itself, never its target
  std::filesystem::remove(checksum_path(path), ec);
  return false;
}

}  // namespace wb
