# wb_add_plugin(NAME SOURCES...)
# Turns a plugin folder into a shared library the host can load: hidden visibility
# (only the manifest symbol is exported), linked against libworkbench and LibTorch,
# written to the build tree's plugin folder and installed beside the host's plugins.
# This file is installed with the SDK, so out-of-tree plugins use the same function.
function(wb_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE workbench::workbench)
  set_target_properties(${name} PROPERTIES
    PREFIX "libwb_"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    CXX_STANDARD 17
    CXX_STANDARD_REQUIRED ON)
  if(DEFINED WB_BUILD_PLUGIN_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${WB_BUILD_PLUGIN_DIR})
  endif()
  # Installed in PREFIX/lib/workbench/plugins, it finds libworkbench two folders up;
  # LibTorch where the CLI finds it (a path outside the prefix only for PyPI's wheel).
  set(rpath "$ORIGIN/../..")
  foreach(dir ${CMAKE_INSTALL_RPATH})
    if(NOT dir MATCHES "^\\$ORIGIN")
      list(APPEND rpath ${dir})
    endif()
  endforeach()
  set_target_properties(${name} PROPERTIES INSTALL_RPATH "${rpath}")
  if(DEFINED WB_INSTALL_PLUGIN_DIR AND NOT WB_PLUGIN_NO_INSTALL)
    install(TARGETS ${name} LIBRARY DESTINATION ${WB_INSTALL_PLUGIN_DIR})
  endif()
  # In the workbench's own tree: the shared precompiled LibTorch header, and a bundled
  # plugin is part of the `runtime` target.
  if(TARGET wb_pch AND COMMAND wb_use_pch)
    wb_use_pch(${name})
  endif()
  if(TARGET runtime AND NOT WB_PLUGIN_NO_INSTALL)
    add_dependencies(runtime ${name})
  endif()
endfunction()
