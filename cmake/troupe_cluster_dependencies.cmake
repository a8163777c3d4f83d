# Libraries of the cluster runtime (transport, protocol, config, api, actors), all from Debian.
# The engine builds without them (the GPU machines have none): TROUPE_CLUSTER=AUTO builds the
# cluster parts only when every one is found, ON requires them, OFF skips them.
set(TROUPE_HAVE_CLUSTER OFF)
if(TROUPE_CLUSTER STREQUAL "OFF")
  return()
endif()
set(_required "")
if(TROUPE_CLUSTER STREQUAL "ON")
  set(_required REQUIRED)
endif()

find_package(ucx QUIET ${_required})
find_package(CapnProto QUIET ${_required})
find_package(yaml-cpp QUIET ${_required})
find_package(spdlog QUIET ${_required})
pkg_check_modules(HTTPLIB ${_required} QUIET IMPORTED_TARGET cpp-httplib)
find_path(CAF_INCLUDE_DIR caf/all.hpp)
find_library(CAF_CORE_LIBRARY caf_core)
find_library(CAF_IO_LIBRARY caf_io)
if(CAF_INCLUDE_DIR AND CAF_CORE_LIBRARY AND NOT TARGET CAF::core)
  add_library(CAF::core UNKNOWN IMPORTED)
  set_target_properties(CAF::core PROPERTIES IMPORTED_LOCATION ${CAF_CORE_LIBRARY}
                                             INTERFACE_INCLUDE_DIRECTORIES ${CAF_INCLUDE_DIR}
                                             INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()

if(ucx_FOUND AND CapnProto_FOUND AND yaml-cpp_FOUND AND spdlog_FOUND AND HTTPLIB_FOUND AND TARGET CAF::core)
  set(TROUPE_HAVE_CLUSTER ON)
  message(STATUS "troupe: cluster runtime enabled (CAF, UCX, Cap'n Proto, yaml-cpp, cpp-httplib found)")
elseif(TROUPE_CLUSTER STREQUAL "ON")
  message(FATAL_ERROR "TROUPE_CLUSTER=ON but CAF (libcaf-dev) was not found")
else()
  message(STATUS "troupe: cluster runtime skipped (missing CAF, UCX, Cap'n Proto, yaml-cpp or cpp-httplib)")
endif()
