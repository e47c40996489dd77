#include "plugins/elf_check.hpp"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <vector>

#include <fmt/format.h>

namespace wb {

namespace {

#if defined(__x86_64__)
constexpr uint16_t kMachine = EM_X86_64;
constexpr const char* kMachineName = "x86-64";
#elif defined(__aarch64__)
constexpr uint16_t kMachine = EM_AARCH64;
constexpr const char* kMachineName = "AArch64";
#else
#error "elf_check.cpp: add this machine's ELF e_machine"
#endif

}  // namespace

std::string elf_problem(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return fmt::format("cannot be read: {}", std::strerror(errno));
  const auto size = static_cast<uint64_t>(in.tellg());
  if (size == 0) return "is empty (0 bytes), not a shared library";
  Elf64_Ehdr h{};
  in.seekg(0);
  in.read(reinterpret_cast<char*>(&h), std::min<uint64_t>(size, sizeof h));
  if (size < SELFMAG || std::memcmp(h.e_ident, ELFMAG, SELFMAG) != 0)
    return fmt::format("is not a shared library: no ELF header ({} bytes)", size);
  if (h.e_ident[EI_CLASS] != ELFCLASS64)
    return "is a 32-bit ELF file; this workbench loads 64-bit libraries";
  if (size < sizeof h)
    return fmt::format("is truncated: {} bytes, shorter than its ELF header", size);
  if (h.e_machine != kMachine)
    return fmt::format("is built for another machine (ELF machine {}); this one is {}", h.e_machine,
                       kMachineName);
  if (h.e_type != ET_DYN) return "is an ELF file but not a shared library (ET_DYN)";
  if (h.e_phentsize != sizeof(Elf64_Phdr) ||
      h.e_phoff + uint64_t(h.e_phnum) * sizeof(Elf64_Phdr) > size)
    return fmt::format("is truncated: {} bytes, its program headers end past that", size);
  std::vector<Elf64_Phdr> ph(h.e_phnum);
  in.seekg(static_cast<std::streamoff>(h.e_phoff));
  in.read(reinterpret_cast<char*>(ph.data()),
          static_cast<std::streamsize>(ph.size() * sizeof(Elf64_Phdr)));
  if (!in) return "cannot read its program headers";
  for (const auto& p : ph)
    if (p.p_type == PT_LOAD && p.p_offset + p.p_filesz > size)
      return fmt::format(
          "is truncated: {} bytes, but a loadable segment ends at byte {} (a copy or build "
          "that did not finish?)",
          size, p.p_offset + p.p_filesz);
  return "";
}

}  // namespace wb
