/*
 * jsonprobe: a fixture plugin written over the SDK's toolhost_json.h only, so the host's tests can send values
 * written by the host's canonical writer through the C readers and back through the C writers.
 *
 *   jsonprobe.echo_string  {"text": s}                          -> {"text": s}   (get_string, write_string)
 *   jsonprobe.echo_typed   {"i": int, "n": number, "b": bool, "raw": any}
 *                                                               -> the same      (get_int, get_number, get_bool,
 *                                                                                 get_raw; write_int, write_number,
 *                                                                                 write_bool, write_raw)
 *   jsonprobe.echo_bytewise {"text": s}                         -> {"text": s}   written one byte per write_result
 *                                                                                 (UTF-8 split across pieces)
 */
#include <stdlib.h>

#include <toolhost/toolhost.h>
#include <toolhost/toolhost_json.h>

static int32_t echo_string(const toolhost_call *call, const char *args, size_t len) {
    const char *raw;
    size_t raw_len, text_len;
    if (toolhost_json_get_raw(args, len, "text", &raw, &raw_len) != TOOLHOST_JSON_OK)
        return toolhost_json_fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "text is required");
    char *text = malloc(raw_len); /* the unescaped string is always shorter than its JSON text */
    if (!text) return toolhost_json_fail(call, TOOLHOST_ERR_FAILED, "out of memory");
    toolhost_json_status status = toolhost_json_get_string(args, len, "text", text, raw_len, &text_len);
    int failed = status != TOOLHOST_JSON_OK || toolhost_json_write_raw(call, "{\"text\":")
                 || toolhost_json_write_string(call, text, text_len) || toolhost_json_write_raw(call, "}");
    free(text);
    if (status != TOOLHOST_JSON_OK) return toolhost_json_fail(call, TOOLHOST_ERR_FAILED, "get_string failed");
    return failed ? TOOLHOST_ERR_FAILED : TOOLHOST_OK;
}

static int32_t echo_bytewise(const toolhost_call *call, const char *args, size_t len) {
    const char *raw;
    size_t raw_len;
    if (toolhost_json_get_raw(args, len, "text", &raw, &raw_len) != TOOLHOST_JSON_OK)
        return toolhost_json_fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "text is required");
    /* The host's canonical string is already escaped: pass it on, a byte at a time. */
    if (toolhost_json_write_raw(call, "{\"text\":")) return TOOLHOST_ERR_FAILED;
    for (size_t i = 0; i < raw_len; i++)
        if (call->host->write_result(call, raw + i, 1) != 0) return TOOLHOST_ERR_FAILED;
    return toolhost_json_write_raw(call, "}") ? TOOLHOST_ERR_FAILED : TOOLHOST_OK;
}

static int32_t echo_typed(const toolhost_call *call, const char *args, size_t len) {
    int64_t i;
    double n;
    int b;
    const char *raw;
    size_t raw_len;
    if (toolhost_json_get_int(args, len, "i", &i) != TOOLHOST_JSON_OK
        || toolhost_json_get_number(args, len, "n", &n) != TOOLHOST_JSON_OK
        || toolhost_json_get_bool(args, len, "b", &b) != TOOLHOST_JSON_OK
        || toolhost_json_get_raw(args, len, "raw", &raw, &raw_len) != TOOLHOST_JSON_OK)
        return toolhost_json_fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "i, n, b and raw are required");
    if (toolhost_json_write_raw(call, "{\"b\":") || toolhost_json_write_bool(call, b)
        || toolhost_json_write_raw(call, ",\"i\":") || toolhost_json_write_int(call, i)
        || toolhost_json_write_raw(call, ",\"n\":") || toolhost_json_write_number(call, n)
        || toolhost_json_write_raw(call, ",\"raw\":") || call->host->write_result(call, raw, raw_len)
        || toolhost_json_write_raw(call, "}"))
        return TOOLHOST_ERR_FAILED;
    return TOOLHOST_OK;
}

static int32_t jsonprobe_init(const toolhost_host_api *host, const toolhost_registrar *reg, void **state) {
    (void)host;
    (void)state;
    toolhost_tool_desc a = {sizeof a, TOOLHOST_TOOL_THREAD_SAFE, "echo_string", "echo a string", echo_string, NULL};
    toolhost_tool_desc b = {sizeof b, TOOLHOST_TOOL_THREAD_SAFE, "echo_typed", "echo typed values", echo_typed, NULL};
    toolhost_tool_desc c = {sizeof c, TOOLHOST_TOOL_THREAD_SAFE, "echo_bytewise", "echo a byte at a time", echo_bytewise,
                            NULL};
    return reg->register_tool(reg, &a) == 0 && reg->register_tool(reg, &b) == 0 && reg->register_tool(reg, &c) == 0
               ? TOOLHOST_OK
               : TOOLHOST_ERR_FAILED;
}

static const toolhost_plugin_desc jsonprobe = {
    sizeof jsonprobe, TOOLHOST_ABI_MAJOR, TOOLHOST_ABI_MINOR, 0, "jsonprobe", "1.0.0", jsonprobe_init, NULL};

TOOLHOST_EXPORT const toolhost_plugin_desc *toolhost_plugin_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_major;
    (void)host_minor;
    return &jsonprobe;
}
