# test_plugin: plugin_run() against the runner and real plugins: the examples
# (build/plugins) and the misbehaving ones in tests/plugins (build/test-plugins).
set(FT_TEST_PLUGINS crash hang garbage overflow exit network write badabi baderr chatty hog
    nosym ctor scribble thread forge impostor flipbit dropall stranger ctorfilter ctorread)
foreach(p ${FT_TEST_PLUGINS})
  ft_plugin_module(${p} ${PROJECT_SOURCE_DIR}/tests/plugins/${p}.c
                   ${CMAKE_BINARY_DIR}/test-plugins)
endforeach()

ft_unit_test(test_plugin ftplugin)
# Permission tests make their directories under plugin_tmp, inside the build tree.
target_compile_definitions(test_plugin PRIVATE
  PLUGIN_TEST_RUNNER="$<TARGET_FILE:ftharness-plugin-runner>"
  PLUGIN_TEST_DIR="${CMAKE_BINARY_DIR}/plugins"
  PLUGIN_TEST_BAD_DIR="${CMAKE_BINARY_DIR}/test-plugins"
  PLUGIN_TEST_TMP="${CMAKE_CURRENT_BINARY_DIR}/plugin_tmp")
list(TRANSFORM FT_TEST_PLUGINS PREPEND ftext_ OUTPUT_VARIABLE ft_test_plugin_targets)
add_dependencies(test_plugin ftharness-plugin-runner ftext_noop ftext_inject
                 ${ft_test_plugin_targets})
set_tests_properties(test_plugin PROPERTIES TIMEOUT 300)

# A plugin's output against what the host gave it (plugin_output.c).
ft_unit_test(test_plugin_output ftplugin)
