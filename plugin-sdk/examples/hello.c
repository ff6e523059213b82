#include <stdio.h>
#include <toolhost/toolhost.h>

static int32_t greet(const toolhost_call *call, const char *args, size_t len) {
    char out[512]; /* the arguments arrive as a JSON object, already checked against inputSchema */
    int n = snprintf(out, sizeof out, "{\"greeting\":\"hello\",\"arguments\":%.*s}", (int)len, args);
    if (n < 0 || n >= (int)sizeof out) return TOOLHOST_ERR_INVALID_ARGUMENTS;
    return call->host->write_result(call, out, (size_t)n) == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
}
static int32_t init(const toolhost_host_api *host, const toolhost_registrar *reg, void **state) {
    (void)host; (void)state;
    toolhost_tool_desc tool = {sizeof tool, TOOLHOST_TOOL_THREAD_SAFE, "greet", "Say hello.", greet, NULL};
    return reg->register_tool(reg, &tool) == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
}
static const toolhost_plugin_desc hello = {sizeof hello, TOOLHOST_ABI_MAJOR, TOOLHOST_ABI_MINOR, 0, "hello", "1.0.0", init, NULL};
TOOLHOST_EXPORT const toolhost_plugin_desc *toolhost_plugin_entry(uint32_t major, uint32_t minor) { (void)major; (void)minor; return &hello; }
