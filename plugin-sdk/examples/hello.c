#include <toolhost/toolhost_json.h>

static int32_t greet(const toolhost_call *call, const char *args, size_t len) {
    char name[256]; /* the arguments: canonical JSON, already checked against the manifest's inputSchema */
    size_t n;
    if (toolhost_json_get_string(args, len, "name", name, sizeof name, &n) != TOOLHOST_JSON_OK)
        return toolhost_json_fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "\"name\": at most 255 bytes, please");
    int failed = toolhost_json_write_raw(call, "{\"greeting\":\"hello, ") || toolhost_json_write_escaped(call, name, n)
                 || toolhost_json_write_raw(call, "\"}");
    return failed ? TOOLHOST_ERR_FAILED : TOOLHOST_OK;
}
static int32_t init(const toolhost_host_api *host, const toolhost_registrar *reg, void **state) {
    (void)host; (void)state;
    toolhost_tool_desc tool = {sizeof tool, TOOLHOST_TOOL_THREAD_SAFE, "greet", "Say hello.", greet, NULL};
    return reg->register_tool(reg, &tool) == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
}
static const toolhost_plugin_desc hello = {sizeof hello, TOOLHOST_ABI_MAJOR, TOOLHOST_ABI_MINOR, 0, "hello", "1.0.0", init, NULL};
TOOLHOST_EXPORT const toolhost_plugin_desc *toolhost_plugin_entry(uint32_t major, uint32_t minor) { (void)major; (void)minor; return &hello; }
