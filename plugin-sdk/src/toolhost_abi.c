/*
 * Compile-time checks that pin the layout of ABI version 1 on this platform.
 * A change that moves a field of a published struct breaks every plugin built
 * against the old header; these asserts make such a change fail the build.
 */
#include <stddef.h>

#include "toolhost/toolhost.h"

#if defined(__x86_64__) || defined(__aarch64__)
_Static_assert(offsetof(toolhost_call, host) == 8, "toolhost_call.host moved");
_Static_assert(offsetof(toolhost_call, host_data) == 40, "toolhost_call.host_data moved");
_Static_assert(offsetof(toolhost_host_api, write_result) == 16, "toolhost_host_api.write_result moved");
_Static_assert(offsetof(toolhost_host_api, log) == 48, "toolhost_host_api.log moved");
_Static_assert(offsetof(toolhost_host_api, report_progress) == 56, "toolhost_host_api.report_progress moved");
_Static_assert(offsetof(toolhost_tool_desc, name) == 8, "toolhost_tool_desc.name moved");
_Static_assert(offsetof(toolhost_tool_desc, tool_state) == 32, "toolhost_tool_desc.tool_state moved");
_Static_assert(offsetof(toolhost_registrar, register_tool) == 16, "toolhost_registrar.register_tool moved");
_Static_assert(offsetof(toolhost_registrar, register_function) == 24, "toolhost_registrar.register_function moved");
_Static_assert(offsetof(toolhost_function_desc, function) == 32, "toolhost_function_desc.function moved");
_Static_assert(offsetof(toolhost_plugin_desc, name) == 16, "toolhost_plugin_desc.name moved");
_Static_assert(offsetof(toolhost_plugin_desc, deinit) == 40, "toolhost_plugin_desc.deinit moved");
#endif
