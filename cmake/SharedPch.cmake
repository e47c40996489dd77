# One precompiled <torch/torch.h> for every in-tree target: the host, the CLI, the
# bundled plugins and their static libraries, the tests and the benchmarks. LibTorch's
# headers are most of a file's compile time (a plugin file took 16-22 s on 2 cores, its
# own code a few), so they are parsed once per build instead of once per file.
# In-tree only: wb_add_plugin uses it where wb_pch exists, so an out-of-tree plugin
# builds without it, as docs/writing-a-plugin.md says.
#
# GCC refuses a precompiled header made with other -fpic/-fpie settings, so every user
# compiles as wb_pch does: -fPIC (executables too, where CMake would say -fPIE; PIC
# objects link into a PIE) and hidden visibility (what plugins need; the host and the
# CLI export nothing a plugin uses: plugins link libworkbench only).

# Called once, after libworkbench is defined: the header takes its compile settings
# (LibTorch's definitions, Debian's fmt first) from linking it.
function(wb_define_pch)
  add_library(wb_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/pch.cpp)
  target_link_libraries(wb_pch PRIVATE workbench::workbench)
  set_target_properties(wb_pch PROPERTIES POSITION_INDEPENDENT_CODE ON
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_precompile_headers(wb_pch PRIVATE <torch/torch.h>)
endfunction()

# wb_use_pch(TARGET): TARGET's files start from wb_pch's precompiled header.
function(wb_use_pch target)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_compile_options(${target} PRIVATE -fPIC)
  else()
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  endif()
  set_target_properties(${target} PROPERTIES CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_precompile_headers(${target} REUSE_FROM wb_pch)
endfunction()
