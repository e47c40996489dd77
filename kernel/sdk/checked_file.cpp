#include <workbench/checked_file.hpp>

#include <sys/stat.h>

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

// The checksum a record holds ("" when there is no readable record): the first word of
// its first line, as sha256sum writes it.
std::string recorded_sha256(const std::string& path) {
  std::ifstream in(checksum_path(path));
  std::string word;
  if (!(in >> word) || word.size() != 64) return "";
  return word;
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
  write_atomically(path, [&](const std::string& tmp) {
    write(tmp);
    // The record before the rename: a process killed in between leaves the old file
    // (or none) beside a record that does not match it, which reads as "remake".
    sha = sha256_file(tmp);
    const std::string name = std::filesystem::path(path).filename().string();
    write_atomically(checksum_path(path), [&](const std::string& rtmp) {
      write_file(rtmp, fmt::format("{}  {}\n", sha, name));
    });
  });
  return sha;
}

std::string checked_problem(const std::string& path, std::string* sha256) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return fmt::format("cannot read ({})", std::strerror(errno));
  if (S_ISLNK(st.st_mode))
    return "is a symbolic link (an artifact is a file of the store's own folder)";
  if (!S_ISREG(st.st_mode)) return "is not a regular file";
  const std::string want = recorded_sha256(path);
  if (want.empty()) return fmt::format("has no checksum record ({})", checksum_path(path));
  std::string have;
  try {
    have = sha256_file(path);
  } catch (const Error& e) {
    return e.what();
  }
  if (have != want)
    return fmt::format("its content changed since it was written (SHA-256 {}..., recorded {}...)",
                       have.substr(0, 12), want.substr(0, 12));
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
