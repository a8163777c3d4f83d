# troupe_add_module(<target> [DEPS <targets>...]): a static library from the *.cpp files of the
# calling folder. Each engine module is one folder, one library.
function(troupe_add_module target)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  add_library(${target} STATIC ${sources})
  target_link_libraries(${target} PUBLIC troupe_flags ${ARG_DEPS})
endfunction()

# troupe_add_test(<name> SOURCES <files>... [DEPS <targets>...]): a GoogleTest binary registered
# with CTest. Tests find checkpoints and npm test assets through the definitions below.
function(troupe_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE troupe_flags ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    TROUPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    TROUPE_SHARED_MODELS_DIR="${TROUPE_SHARED_MODELS_DIR}"
    TROUPE_NPM_DIR="${TROUPE_NPM_DIR}"
    TROUPE_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600)
endfunction()
