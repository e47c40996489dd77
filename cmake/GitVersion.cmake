# Run at every build (cmake -P): the source tree's commit and whether tracked files
# differ from it, written to OUTPUT as a header only when that changed, so the binary
# records the code it was built from (not whatever the tree holds when it runs) and an
# unchanged tree recompiles nothing.
#   cmake -DSOURCE_DIR=... -DOUTPUT=... -P GitVersion.cmake
execute_process(COMMAND git -C "${SOURCE_DIR}" rev-parse HEAD
  OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE failed)
if(failed OR commit STREQUAL "")
  set(commit "unknown")  # built from a tarball: no repository to ask
  set(dirty 0)
else()
  execute_process(COMMAND git -C "${SOURCE_DIR}" status --porcelain --untracked-files=no
    OUTPUT_VARIABLE changes ERROR_QUIET)
  if(changes STREQUAL "")
    set(dirty 0)
  else()
    set(dirty 1)
  endif()
endif()
set(text "#pragma once\n// Written by cmake/GitVersion.cmake at build time.\n#define WB_GIT_COMMIT \"${commit}\"\n#define WB_GIT_DIRTY ${dirty}\n")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE "${OUTPUT}" "${text}")
endif()
