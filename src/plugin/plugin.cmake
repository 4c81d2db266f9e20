# SKU plugins (include/ftharness/ft_ext.h): the host library ftplugin (plugin.h), the
# sandboxed runner ftharness-plugin-runner, the example plugins, and the pkg-config file
# for plugins built out of tree. Included from src/CMakeLists.txt; every path is relative
# to this file or to the project, so it works from any including directory.
include(GNUInstallDirs)
pkg_check_modules(SECCOMP REQUIRED IMPORTED_TARGET libseccomp)

set(FTPLUGIN_SRC ${CMAKE_CURRENT_LIST_DIR})
# Example plugins land here, test plugins in test-plugins/ (tests/unit/plugin.cmake).
set(FTHARNESS_PLUGIN_BUILD_DIR ${CMAKE_BINARY_DIR}/plugins)

# Drops sanitizer and fuzzer flags (added project-wide by FTH_SANITIZE / FTH_FUZZ) from a
# target. The runner and the plugins run under a seccomp filter that forbids what the
# sanitizer runtimes need, and an instrumented plugin cannot be loaded by an
# uninstrumented runner.
function(ft_no_sanitizers target)
  foreach(prop COMPILE_OPTIONS LINK_OPTIONS)
    get_target_property(opts ${target} ${prop})
    if(opts)
      list(FILTER opts EXCLUDE REGEX "^-f(no-)?sanitize")
      set_property(TARGET ${target} PROPERTY ${prop} ${opts})
    endif()
  endforeach()
endfunction()

# ft_plugin_module(<name> <source> <output dir>): builds <output dir>/<name>.so the way a
# SKU plugin must be built: a MODULE, hidden visibility (only what ft_ext.h exports is
# visible), no undefined symbols (plugins never link against the harness), immediate
# binding, no sanitizers. Target: ftext_<name>.
function(ft_plugin_module name source outdir)
  add_library(ftext_${name} MODULE ${source})
  target_include_directories(ftext_${name} PRIVATE ${PROJECT_SOURCE_DIR}/include)
  set_target_properties(ftext_${name} PROPERTIES
    PREFIX "" OUTPUT_NAME ${name} SUFFIX ".so"
    C_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY ${outdir})
  target_link_options(ftext_${name} PRIVATE -Wl,--no-undefined -Wl,-z,now -Wl,-z,relro)
  ft_no_sanitizers(ftext_${name})
endfunction()

# Host side: path checks, runner process, message decoding, output validation.
add_library(ftplugin STATIC ${FTPLUGIN_SRC}/plugin.c ${FTPLUGIN_SRC}/plugin_output.c
            ${FTPLUGIN_SRC}/plugin_proto.c)
target_include_directories(ftplugin PUBLIC ${PROJECT_SOURCE_DIR}/include
                           ${CMAKE_CURRENT_LIST_DIR}/..)
target_link_libraries(ftplugin PUBLIC ftwire)

# The runner compiles the few sources it needs itself rather than linking ftwire, so it
# can be built without sanitizers and carries no zlib/OpenSSL/jansson.
add_executable(ftharness-plugin-runner
  ${FTPLUGIN_SRC}/runner.c
  ${FTPLUGIN_SRC}/plugin_proto.c
  ${CMAKE_CURRENT_LIST_DIR}/../wire/perso_tlv.c
  ${CMAKE_CURRENT_LIST_DIR}/../common/error.c
  ${CMAKE_CURRENT_LIST_DIR}/../common/fdio.c)
target_include_directories(ftharness-plugin-runner PRIVATE ${PROJECT_SOURCE_DIR}/include
                           ${CMAKE_CURRENT_LIST_DIR}/..)
target_link_libraries(ftharness-plugin-runner PRIVATE PkgConfig::SECCOMP ${CMAKE_DL_LIBS})
ft_no_sanitizers(ftharness-plugin-runner)

ft_plugin_module(noop ${PROJECT_SOURCE_DIR}/plugins/noop/noop.c ${FTHARNESS_PLUGIN_BUILD_DIR})
ft_plugin_module(inject ${PROJECT_SOURCE_DIR}/plugins/inject/inject.c
                 ${FTHARNESS_PLUGIN_BUILD_DIR})

configure_file(${FTPLUGIN_SRC}/ftharness-ext.pc.in ${CMAKE_BINARY_DIR}/ftharness-ext.pc @ONLY)

install(TARGETS ftharness-plugin-runner
        RUNTIME DESTINATION ${FTHARNESS_INSTALL_RUNNER_DIR})
install(TARGETS ftext_noop ftext_inject
        LIBRARY DESTINATION ${FTHARNESS_INSTALL_PLUGIN_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/ftharness/ft_ext.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ftharness)
# Header-only interface, so the architecture-independent pkg-config directory.
install(FILES ${CMAKE_BINARY_DIR}/ftharness-ext.pc
        DESTINATION ${CMAKE_INSTALL_DATADIR}/pkgconfig)
