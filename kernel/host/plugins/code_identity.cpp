#include "plugins/code_identity.hpp"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include <workbench/checked_file.hpp>
#include <workbench/error.hpp>

namespace wb {

namespace {

// Reads a T at `offset` of `bytes`; false when it does not fit.
template <class T>
bool read_at(const std::string& bytes, uint64_t offset, T* out) {
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) return false;
  std::memcpy(out, bytes.data() + offset, sizeof(T));
  return true;
}

// The file offset of virtual address `addr`, through the loadable segments; false when
// none holds it.
bool file_offset(const std::vector<Elf64_Phdr>& ph, uint64_t addr, uint64_t* out) {
  for (const auto& p : ph)
    if (p.p_type == PT_LOAD && addr >= p.p_vaddr && addr - p.p_vaddr < p.p_filesz) {
      *out = p.p_offset + (addr - p.p_vaddr);
      return true;
    }
  return false;
}

// Zeroes the run path strings of the ELF image in `bytes`; false (nothing changed)
// when its headers do not lead to them.
bool blank_run_paths(std::string& bytes) {
  Elf64_Ehdr h{};
  if (!read_at(bytes, 0, &h) || std::memcmp(h.e_ident, ELFMAG, SELFMAG) != 0 ||
      h.e_ident[EI_CLASS] != ELFCLASS64 || h.e_phentsize != sizeof(Elf64_Phdr))
    return false;
  std::vector<Elf64_Phdr> ph(h.e_phnum);
  for (size_t i = 0; i < ph.size(); ++i)
    if (!read_at(bytes, h.e_phoff + i * sizeof(Elf64_Phdr), &ph[i])) return false;
  const Elf64_Phdr* dynamic = nullptr;
  for (const auto& p : ph)
    if (p.p_type == PT_DYNAMIC) dynamic = &p;
  if (!dynamic) return false;
  uint64_t strtab = 0, strsz = 0;
  std::vector<uint64_t> paths;  // offsets in .dynstr
  for (uint64_t at = dynamic->p_offset;
       at + sizeof(Elf64_Dyn) <= dynamic->p_offset + dynamic->p_filesz; at += sizeof(Elf64_Dyn)) {
    Elf64_Dyn d{};
    if (!read_at(bytes, at, &d)) return false;
    if (d.d_tag == DT_NULL) break;
    if (d.d_tag == DT_STRTAB) strtab = d.d_un.d_ptr;
    if (d.d_tag == DT_STRSZ) strsz = d.d_un.d_val;
    if (d.d_tag == DT_RUNPATH || d.d_tag == DT_RPATH) paths.push_back(d.d_un.d_val);
  }
  uint64_t start = 0;
  if (paths.empty()) return true;  // nothing to blank: the whole file is the code
  if (!file_offset(ph, strtab, &start) || start > bytes.size() || bytes.size() - start < strsz)
    return false;
  for (const uint64_t p : paths)
    if (p >= strsz) return false;
  for (const uint64_t p : paths) {
    uint64_t i = start + p;
    const uint64_t end = start + strsz;
    while (i < end && bytes[i] != '\0') bytes[i++] = '\0';  // the string
    while (i < end && bytes[i] == '\0') ++i;                // and the padding after it
  }
  return true;
}

}  // namespace

std::string code_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot be read to hash it");
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  blank_run_paths(bytes);  // on failure the whole file is hashed as it is
  return sha256_hex(bytes);
}

}  // namespace wb
