# Compiler flags shared by every troupe target (through the troupe_flags interface target).
add_library(troupe_flags INTERFACE)
target_compile_options(troupe_flags INTERFACE -Wall -Wextra -Wpedantic -Wno-unused-parameter
                                              # designated initializers may omit fields (STYLE.md rule 7)
                                              -Wno-missing-field-initializers)
if(TROUPE_WERROR)
  target_compile_options(troupe_flags INTERFACE -Werror)
endif()
target_include_directories(troupe_flags INTERFACE ${PROJECT_SOURCE_DIR})

if(TROUPE_SANITIZE)
  message(STATUS "troupe: sanitizers ${TROUPE_SANITIZE}")
  target_compile_options(troupe_flags INTERFACE -fsanitize=${TROUPE_SANITIZE} -fno-omit-frame-pointer
                                                -fno-sanitize-recover=undefined)
  target_link_options(troupe_flags INTERFACE -fsanitize=${TROUPE_SANITIZE})
  # GCC 12's flow analysis reports false "maybe-uninitialized" in libstdc++ (<regex>, <function>)
  # once sanitizer instrumentation is in; the release build keeps the warning.
  target_compile_options(troupe_flags INTERFACE -Wno-maybe-uninitialized)
endif()

# SIMD: kernels are compiled per instruction set and chosen at run time (engine/backend/cpu),
# so the binary runs on any x86-64; TROUPE_NATIVE only tunes the portable code.
if(TROUPE_NATIVE)
  target_compile_options(troupe_flags INTERFACE -march=native)
endif()

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
  set(CMAKE_C_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()
