/*
 * toolhost.h: the C ABI between the toolhost host and a tool plugin.
 *
 * ABI version 1.0. Plain C99; no macros a Rust, Zig or Swift author must mirror
 * except TOOLHOST_EXPORT (default symbol visibility), which is a convenience.
 *
 * A plugin is a shared library that exports exactly one symbol,
 * `toolhost_plugin_entry`, a function with the signature of
 * toolhost_plugin_entry_fn. The host:
 *   1. dlopens the library (RTLD_NOW | RTLD_LOCAL) and looks the entry up;
 *   2. calls the entry, which must only return a pointer to static data;
 *   3. checks `abi_major` / `abi_minor` of the returned descriptor before it
 *      touches anything else (a different major, or a minor newer than the
 *      host's, is refused; an older minor is accepted);
 *   4. calls `init` once, during which the plugin registers its tools;
 *   5. calls tool handlers, possibly from several threads at once;
 *   6. may call `deinit` once when the plugin is unloaded (it may also never
 *      unload it: a plugin must not rely on deinit running at process exit).
 *
 * Memory: the plugin never frees host memory and the host never frees plugin
 * memory. Results and errors are copied out through the host's writer
 * functions, so no allocator crosses the boundary.
 *
 * Each loaded plugin gets its own toolhost_host_api table; a function that
 * takes the table identifies the plugin by it.
 *
 * Strings are UTF-8. Where a length is given, the string need not be
 * NUL-terminated and may not contain NUL unless stated; names passed at
 * registration are NUL-terminated.
 *
 * Thread annotations:
 *   [main-thread]  called on the thread that loads the plugin, never
 *                  concurrently with any other call into the plugin;
 *   [call-thread]  may only be called on the thread running the handler of
 *                  that call, before the handler returns;
 *   [thread-safe]  may be called from any thread at any time.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define TOOLHOST_EXPORT __declspec(dllexport)
#else
#define TOOLHOST_EXPORT __attribute__((visibility("default")))
#endif

/* The ABI version this header describes. */
enum {
    TOOLHOST_ABI_MAJOR = 1,
    TOOLHOST_ABI_MINOR = 0
};

/* The name of the one exported symbol. */
#define TOOLHOST_ENTRY_SYMBOL "toolhost_plugin_entry"

/* Status a handler returns (and an init returns: OK or FAILED). */
typedef enum toolhost_status {
    /* The call succeeded; the result was written with write_result. */
    TOOLHOST_OK = 0,
    /* The arguments were wrong; the caller must change them. Not retried. */
    TOOLHOST_ERR_INVALID_ARGUMENTS = 1,
    /* A transient failure (busy resource, network blip); the host may retry
     * the call if the tool is declared deterministic or idempotent. */
    TOOLHOST_ERR_TRANSIENT = 2,
    /* The tool failed; retrying will not help. */
    TOOLHOST_ERR_FAILED = 3
} toolhost_status;

/* Log levels for toolhost_host_api.log. */
typedef enum toolhost_log_level {
    TOOLHOST_LOG_TRACE = 0,
    TOOLHOST_LOG_DEBUG = 1,
    TOOLHOST_LOG_INFO = 2,
    TOOLHOST_LOG_WARNING = 3,
    TOOLHOST_LOG_ERROR = 4
} toolhost_log_level;

/* Tool flags (toolhost_tool_desc.flags). */
enum {
    /* The handler may run on several threads at once. Without this flag the
     * host never runs two calls of the tool at the same time. */
    TOOLHOST_TOOL_THREAD_SAFE = 1u << 0
};

typedef struct toolhost_call toolhost_call;
typedef struct toolhost_host_api toolhost_host_api;

/*
 * A JSON tool handler. [call-thread: the host's own thread]
 *
 * `call`: owned by the host, valid until the handler returns. Do not keep it.
 * `args_json`, `args_len`: the arguments as one UTF-8 JSON object, already
 *   validated against the tool's input schema; owned by the host, valid until
 *   the handler returns. Not NUL-terminated.
 *
 * Write the result with call->host->write_result (a JSON value; it may be
 * written in several pieces, which are concatenated) and return TOOLHOST_OK,
 * or write a message with call->host->write_error and return an error status.
 * The handler may block; it should poll call->host->is_cancelled during long
 * work and return soon after it turns true.
 */
typedef int32_t (*toolhost_handler_fn)(const toolhost_call *call, const char *args_json, size_t args_len);

/* The per-call context the host passes to a handler. Owned by the host. */
struct toolhost_call {
    /* sizeof(toolhost_call) as the host knows it; fields past the size the
     * plugin was built with are simply not read by it. */
    uint32_t struct_size;
    uint32_t reserved;
    /* The host's function table; valid for the life of the plugin. */
    const toolhost_host_api *host;
    /* The plugin's state from init (may be NULL). */
    void *plugin_state;
    /* The tool's state from its registration (may be NULL). */
    void *tool_state;
    /* The tool's registered name, NUL-terminated. */
    const char *tool_name;
    /* Opaque to the plugin; the host's bookkeeping for this call. */
    void *host_data;
};

/* The functions the host offers. Owned by the host, valid for the life of the
 * plugin. Every function's first argument is the call it concerns. */
struct toolhost_host_api {
    /* sizeof(toolhost_host_api) as the host knows it. */
    uint32_t struct_size;
    /* The host's ABI version. */
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t reserved;

    /* Appends `len` bytes of the result JSON. [call-thread]
     * `json` is owned by the caller and only read during the call. Returns 0,
     * or -1 when the call is no longer running or the result is over the
     * tool's output limit (the handler should then return an error). */
    int32_t (*write_result)(const toolhost_call *call, const char *json, size_t len);

    /* Sets the error message (UTF-8, `len` bytes; a later call replaces it).
     * [call-thread] Returns 0, or -1 when the call is no longer running. */
    int32_t (*write_error)(const toolhost_call *call, const char *message, size_t len);

    /* Returns 1 once the call was cancelled or passed its deadline, else 0.
     * [call-thread] */
    int32_t (*is_cancelled)(const toolhost_call *call);

    /* The call's deadline in nanoseconds of CLOCK_MONOTONIC, or 0 for none.
     * [call-thread] */
    uint64_t (*deadline_ns)(const toolhost_call *call);

    /* Logs a message (UTF-8, `len` bytes) under the plugin's name. `host` is
     * this table (init's `host`, or call->host). `call` is the call the message
     * is about, or NULL outside a call (in init, deinit, or a plugin's own
     * threads). [thread-safe when call is NULL, else call-thread] */
    void (*log)(const toolhost_host_api *host, const toolhost_call *call, int32_t level, const char *message,
                size_t len);
};

/* One tool, as the plugin registers it. Owned by the plugin; the host copies
 * what it needs during register_tool, so it may live on the stack. */
typedef struct toolhost_tool_desc {
    /* sizeof(toolhost_tool_desc) as the plugin knows it. */
    uint32_t struct_size;
    /* TOOLHOST_TOOL_* flags. */
    uint32_t flags;
    /* The tool's name within the plugin, NUL-terminated: [a-z0-9_]+ (it must
     * match a tool in manifest.json; users see it as "<plugin>.<name>"). */
    const char *name;
    /* A one-line description, NUL-terminated (the manifest's is shown). */
    const char *description;
    /* The handler. Required. */
    toolhost_handler_fn handler;
    /* Passed back as call->tool_state. Owned by the plugin. */
    void *tool_state;
} toolhost_tool_desc;

/* The registrar handed to init. Owned by the host, valid only during init. */
typedef struct toolhost_registrar toolhost_registrar;
struct toolhost_registrar {
    /* sizeof(toolhost_registrar) as the host knows it. */
    uint32_t struct_size;
    uint32_t reserved;
    /* Opaque to the plugin. */
    void *host_data;
    /* Registers one tool. [main-thread, during init only]
     * Returns 0, or -1 if the descriptor is invalid or the name is already
     * registered (the host then refuses the plugin with that reason). */
    int32_t (*register_tool)(const toolhost_registrar *registrar, const toolhost_tool_desc *tool);
};

/* What the entry returns: static data owned by the plugin, valid until the
 * library is unloaded. */
typedef struct toolhost_plugin_desc {
    /* sizeof(toolhost_plugin_desc) as the plugin knows it. */
    uint32_t struct_size;
    /* Set these to TOOLHOST_ABI_MAJOR and TOOLHOST_ABI_MINOR. */
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t reserved;
    /* The plugin name and version, NUL-terminated; they must match the
     * manifest's "name" and "version". */
    const char *name;
    const char *version;

    /* Called once before any handler. [main-thread]
     * Register tools through `registrar`; store any state in *plugin_state
     * (passed back as call->plugin_state and to deinit). `host` stays valid
     * for the life of the plugin. Return TOOLHOST_OK, or TOOLHOST_ERR_FAILED
     * after logging why (the plugin is then refused and deinit not called). */
    int32_t (*init)(const toolhost_host_api *host, const toolhost_registrar *registrar, void **plugin_state);

    /* Called at most once, after the last handler returned. May be NULL.
     * [main-thread] */
    void (*deinit)(void *plugin_state);
} toolhost_plugin_desc;

/*
 * The one exported symbol. It must do nothing but return a pointer to a
 * static toolhost_plugin_desc (the host calls it before it has checked the
 * ABI version). `host_abi_major` / `host_abi_minor` tell the plugin the host's
 * version, should it want to offer an older descriptor to an older host.
 */
typedef const toolhost_plugin_desc *(*toolhost_plugin_entry_fn)(uint32_t host_abi_major, uint32_t host_abi_minor);

#ifdef __cplusplus
}
#endif
