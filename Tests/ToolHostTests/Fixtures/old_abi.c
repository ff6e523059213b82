/* A plugin as an author wrote it against an older header (built with -I Fixtures/abi/1.X, never with today's
 * plugin-sdk/include): only what ABI 1.0 offered. `echo` answers its arguments; `about` answers the host table's
 * version and size and the size of the call as this plugin sees them. */
#include <stdio.h>
#include <string.h>
#include <toolhost/toolhost.h>

static int32_t echo(const toolhost_call *call, const char *args, size_t len) {
    return call->host->write_result(call, args, len) == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
}

static int32_t about(const toolhost_call *call, const char *args, size_t len) {
    (void)args; (void)len;
    char out[160];
    int n = snprintf(out, sizeof out,
                     "{\"built\":%d,\"hostMinor\":%u,\"hostTableBytes\":%u,\"knownTableBytes\":%zu,\"cancelled\":%d}",
                     (int)TOOLHOST_ABI_MINOR, (unsigned)call->host->abi_minor, (unsigned)call->host->struct_size,
                     sizeof(toolhost_host_api), (int)call->host->is_cancelled(call));
    return call->host->write_result(call, out, (size_t)n) == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
}

static int32_t init(const toolhost_host_api *host, const toolhost_registrar *registrar, void **state) {
    (void)state;
    static const char message[] = "old_abi: init";
    host->log(host, NULL, TOOLHOST_LOG_INFO, message, sizeof message - 1);
    toolhost_tool_desc tools[] = {
        {sizeof(toolhost_tool_desc), TOOLHOST_TOOL_THREAD_SAFE, "echo", "echo", echo, NULL},
        {sizeof(toolhost_tool_desc), TOOLHOST_TOOL_THREAD_SAFE, "about", "about", about, NULL},
    };
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        if (registrar->register_tool(registrar, &tools[i]) != 0) return TOOLHOST_ERR_FAILED;
    }
    return TOOLHOST_OK;
}

static const toolhost_plugin_desc plugin = {
    sizeof(toolhost_plugin_desc), TOOLHOST_ABI_MAJOR, TOOLHOST_ABI_MINOR, 0, "old_abi", "1.0.0", init, NULL,
};

TOOLHOST_EXPORT const toolhost_plugin_desc *toolhost_plugin_entry(uint32_t host_abi_major, uint32_t host_abi_minor) {
    (void)host_abi_major; (void)host_abi_minor;
    return &plugin;
}
