/*
 * toolhost.h: the C ABI between the toolhost host and a tool plugin.
 *
 * ABI version 1.2 (1.1 added typed native functions: toolhost_function_desc and
 * toolhost_registrar.register_function; 1.2 added progress reports:
 * toolhost_host_api.report_progress). Plain C99; no macros a Rust, Zig or Swift author must mirror
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
 *   6. never unloads the library; `deinit` runs only when the host refuses
 *      the plugin after a successful init (a plugin must not rely on it).
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
 *   [load-thread]  called on the host thread that loads the plugin: a thread
 *                  of the host's call pool, the plugins-directory watcher's
 *                  thread, or a worker process's thread; never a "main"
 *                  thread the plugin could rely on, and never concurrently
 *                  with any other call into the same loaded image;
 *   [call-thread]  may only be called on the thread running the handler of
 *                  that call, before the handler returns (from elsewhere
 *                  write_result, write_error and report_progress return -1
 *                  and the host logs a warning once per tool; is_cancelled
 *                  returns 1);
 *   [thread-safe]  may be called from any thread at any time.
 *
 * Rules for every language (C, C++, Rust, Zig, Swift, ...):
 *   - No unwinding across the ABI. A C++ exception, a Rust panic or a Swift
 *     error must not leave a function the host calls (entry, init, deinit,
 *     handlers, typed functions): catch everything at the boundary and return
 *     an error status (write_error first). Unwinding into the host's frames is
 *     undefined behaviour; in practice it aborts the process (the host's own,
 *     for an in-process plugin).
 *   - Pointers the host passes are never NULL, except where a field says
 *     "may be NULL" (call->plugin_state, call->tool_state). This covers call,
 *     args_json (at least "{}"), call->host, call->tool_name, every function
 *     in toolhost_host_api, and init's host, registrar and plugin_state.
 *     registrar->register_function exists only when registrar->struct_size
 *     covers it (a host of ABI 1.1 or newer).
 *   - Pointers the plugin passes: a descriptor's name, init, handler, and a
 *     function's function and signature must not be NULL (the plugin is
 *     refused, saying which); deinit, description, tool_state and
 *     free_function may be. write_result and write_error accept NULL with
 *     length 0.
 *   - Reserved fields (`reserved`) must be 0 in every struct the plugin
 *     fills in; the host sets them to 0 in its own. A later minor version may
 *     give them a meaning.
 *   - struct_size first: set it to sizeof the struct as your header knows it;
 *     read the host's struct_size before using a field newer than 1.0.
 *   - Stacks: the host runs init and every handler on threads of its own
 *     with 8 MiB stacks, whatever `ulimit -s` says, in process and in a
 *     worker process (isolation "process") alike.
 *   - Limits: arguments and results nest at most 512 arrays/objects deep; a
 *     result is at most the tool's maxOutputBytes (host default 16 MiB), past
 *     which write_result returns -1; the daemon's front ends take at most
 *     1 MiB of arguments per request by default (HTTP body, MCP stdio line);
 *     error and log messages are cut at 64 KiB.
 *   - UTF-8 across pieces: write_result pieces are concatenated before the
 *     host checks anything, so a multi-byte UTF-8 sequence (or any JSON token)
 *     may be split between two pieces. The whole result must be one valid
 *     UTF-8 JSON value.
 *   - Layout: the structs below use only fixed-width integers, pointers and
 *     function pointers, naturally aligned. On 64-bit targets (LP64, LLP64)
 *     their sizes are asserted below: toolhost_call 48, toolhost_host_api 64,
 *     toolhost_tool_desc 40, toolhost_function_desc 48, toolhost_registrar 32,
 *     toolhost_plugin_desc 48 bytes; check your own declarations against
 *     these.
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
    TOOLHOST_ABI_MINOR = 2
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

    /* Reports how far the call has come (ABI 1.2: present only when struct_size
     * covers it; a plugin that may run on a 1.1 host checks before calling).
     * [call-thread]
     *
     * `done`: the work done so far, a finite number >= 0 in any unit (items,
     *   bytes, percent); it should grow from one report to the next (MCP
     *   clients expect a rising value).
     * `total`: what `done` reaches when the call is complete, or a negative
     *   number or NaN when that is not known.
     * `message`: a short UTF-8 status line, `len` bytes, owned by the caller and
     *   only read during the call; NULL with len 0 for none. At most 256 bytes
     *   are kept (cut at a character boundary).
     *
     * Cheap and never blocking: the host only keeps the latest report of the
     * call; its front ends hand the latest to the caller at most every ~50 ms
     * (MCP notifications/progress, REST server-sent events, the CLI's bar), so
     * a handler may report as often as it likes and a slow client never holds
     * it up. Reports in between are coalesced, and a report just before the
     * handler returns may not be delivered. A call nobody follows takes reports
     * too (and drops them): that is not an error.
     *
     * Returns 0, or -1 when the report was refused and nothing is delivered:
     * the call is no longer running (the handler returned, the call passed its
     * deadline or was cancelled: its caller may already have the answer), or
     * `done` is negative or not a finite number. In a worker process (isolation
     * "process") the worker forwards reports to the host, which drops any that
     * arrive after it answered the call. */
    int32_t (*report_progress)(const toolhost_call *call, double done, double total, const char *message,
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

/*
 * A plain C function exposed as a typed tool (ABI 1.1). The host converts the
 * JSON arguments to C values, calls the function through libffi and converts
 * the return value back to JSON ({"result": ...}); no JSON handler is written.
 * Owned by the plugin; the host copies what it needs during register_function.
 *
 * `signature` is a C-like prototype without a function name, for example
 *   "double (double x, double y)"  or  "uint32 (string a, string b)".
 * Types: bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float,
 * double, string (const char *, NUL-terminated UTF-8), buffer (two C
 * arguments: const uint8_t *data, size_t length; given in JSON as a UTF-8
 * string), and void (return type only). A returned string is copied; name a
 * plugin function in `free_function` if the host must free it afterwards,
 * else the string must stay valid (static storage).
 */
typedef struct toolhost_function_desc {
    /* sizeof(toolhost_function_desc) as the plugin knows it. */
    uint32_t struct_size;
    /* TOOLHOST_TOOL_* flags (thread safety as for JSON tools). */
    uint32_t flags;
    /* The tool's name, NUL-terminated, as for toolhost_tool_desc. */
    const char *name;
    /* A one-line description, NUL-terminated. */
    const char *description;
    /* The prototype, NUL-terminated; it must equal the manifest's "signature". */
    const char *signature;
    /* The function, cast to a generic function pointer. */
    void (*function)(void);
    /* Called with a returned string once the host copied it, or NULL. */
    void (*free_function)(void *pointer);
} toolhost_function_desc;

/* The registrar handed to init. Owned by the host, valid only during init. */
typedef struct toolhost_registrar toolhost_registrar;
struct toolhost_registrar {
    /* sizeof(toolhost_registrar) as the host knows it. A plugin built for
     * ABI 1.1 may use register_function only when struct_size covers it. */
    uint32_t struct_size;
    uint32_t reserved;
    /* Opaque to the plugin. */
    void *host_data;
    /* Registers one tool. [load-thread, during init only]
     * Returns 0, or -1 if the descriptor is invalid or the name is already
     * registered (the host then refuses the plugin with that reason). */
    int32_t (*register_tool)(const toolhost_registrar *registrar, const toolhost_tool_desc *tool);
    /* Registers a typed native function as a tool (ABI 1.1). [load-thread,
     * during init only] Returns 0, or -1 if the descriptor or its signature is
     * invalid or the name is already registered. */
    int32_t (*register_function)(const toolhost_registrar *registrar, const toolhost_function_desc *function);
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

    /* Called once before any handler. [load-thread]
     * Register tools through `registrar`; store any state in *plugin_state
     * (passed back as call->plugin_state and to deinit). `host` stays valid
     * for the life of the plugin. Return TOOLHOST_OK, or TOOLHOST_ERR_FAILED
     * after logging why (the plugin is then refused and deinit not called). */
    int32_t (*init)(const toolhost_host_api *host, const toolhost_registrar *registrar, void **plugin_state);

    /* Called at most once, and only when the host refuses the plugin after a
     * successful init (its registration does not match the manifest): the
     * host never unloads a library, so deinit does not run at unload or at
     * process exit. May be NULL. [load-thread] */
    void (*deinit)(void *plugin_state);
} toolhost_plugin_desc;

/*
 * The one exported symbol. It must do nothing but return a pointer to a
 * static toolhost_plugin_desc (the host calls it before it has checked the
 * ABI version). `host_abi_major` / `host_abi_minor` tell the plugin the host's
 * version, should it want to offer an older descriptor to an older host.
 */
typedef const toolhost_plugin_desc *(*toolhost_plugin_entry_fn)(uint32_t host_abi_major, uint32_t host_abi_minor);

/*
 * The entry's prototype, so a plugin's definition is checked against it and, in C++, gets C linkage without an
 * `extern "C"` of its own (a forgotten one used to build silently with a mangled name the host cannot find).
 */
TOOLHOST_EXPORT const toolhost_plugin_desc *toolhost_plugin_entry(uint32_t host_abi_major, uint32_t host_abi_minor);

/*
 * The layout on 64-bit targets, checked wherever this header is compiled (C99 and C++: an array of negative size
 * is an error). A mismatch means a compiler packs or aligns these structs differently from the host.
 */
#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
typedef char toolhost_size_check_call[sizeof(toolhost_call) == 48 ? 1 : -1];
typedef char toolhost_size_check_host_api[sizeof(toolhost_host_api) == 64 ? 1 : -1];
typedef char toolhost_size_check_tool_desc[sizeof(toolhost_tool_desc) == 40 ? 1 : -1];
typedef char toolhost_size_check_function_desc[sizeof(toolhost_function_desc) == 48 ? 1 : -1];
typedef char toolhost_size_check_registrar[sizeof(toolhost_registrar) == 32 ? 1 : -1];
typedef char toolhost_size_check_plugin_desc[sizeof(toolhost_plugin_desc) == 48 ? 1 : -1];
#endif

#ifdef __cplusplus
}
#endif
