# Workarounds for LibTorch as PyTorch's PyPI wheel ships it, in one place, applied only
# to such a LibTorch (one outside /usr); a system LibTorch needs none of them.
# Included by the top-level CMakeLists.txt after find_package(Torch) and (fmt).
if(NOT TORCH_INSTALL_PREFIX OR TORCH_INSTALL_PREFIX MATCHES "^/usr")
  return()
endif()

# An installed CLI finds a LibTorch that is on no default path.
list(APPEND CMAKE_INSTALL_RPATH "${TORCH_INSTALL_PREFIX}/lib")

# The wheel's libtorch exports copies of parts of libstdc++ (std::filesystem among
# them). A program that lists libtorch before libstdc++ binds those symbols to
# libtorch's copies: torch 2.11's std::filesystem::remove_all jumps to address 0 (seen
# on the GPU machine, tools/gpu/check.sh). Naming libstdc++ first in every link line
# makes it the first library searched after the program, so the C++ runtime's own
# definitions win.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  link_libraries(stdc++)
endif()

# The wheel's libtorch finds its CUDA libraries (NCCL, cuDNN, ...) in the nvidia wheels
# beside it through its RPATH at run time; the linker must look there too, before any
# older copy the CUDA toolkit puts on the link path.
file(GLOB WB_TORCH_NVIDIA_LIBS LIST_DIRECTORIES true "${TORCH_INSTALL_PREFIX}/../nvidia/*/lib")
foreach(dir ${WB_TORCH_NVIDIA_LIBS})
  add_link_options("LINKER:-rpath-link,${dir}")
endforeach()

# The wheel ships fmt headers of its own in the include folder that comes first on the
# include path; the workbench and spdlog link Debian's libfmt, so its headers must win:
# a folder holding only a link to them goes in front (kernel/CMakeLists.txt), and is
# installed for out-of-tree plugins.
if(EXISTS "${TORCH_INSTALL_PREFIX}/include/fmt")
  get_target_property(WB_FMT_INCLUDE fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
  set(WB_FMT_FIRST ${CMAKE_BINARY_DIR}/fmt-first)
  file(MAKE_DIRECTORY ${WB_FMT_FIRST})
  file(CREATE_LINK ${WB_FMT_INCLUDE}/fmt ${WB_FMT_FIRST}/fmt SYMBOLIC)
endif()
