/*
 * probe: an instrumented fixture plugin, compiled by the tests with the system cc exactly as a third
 * party would build a plugin:
 *
 *   cc -shared -fPIC -fvisibility=hidden -I plugin-sdk/include probe.c -o libprobe.so [-D...]
 *
 * Variants (-D): PLUGIN_NAME="x", PLUGIN_VERSION="1.0.0", ABI_MAJOR=n, ABI_MINOR=n, NO_ENTRY,
 * INIT_FAILS, INIT_CRASHES (a SIGSEGV in init), INIT_SLEEP_MS=n (a slow first load), INIT_GATE="path" (init
 * waits until the file exists: a load that lasts exactly as long as the test wants), REGISTER_TWICE, EXTRA_TOOL,
 * NULL_DESCRIPTOR.
 *
 * Gates: `order`, `hang` and `sleep` take an optional "gate" path argument and hold their call until that file
 * exists (`sleep` also stops when cancelled). A test that needs a call to stay running while it arranges others
 * opens the gate when it is ready, instead of betting that a fixed sleep outlasts its arranging on a loaded machine.
 * `progress` reports progress (ABI 1.2) and then waits for its gate the same way.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <toolhost/toolhost.h>

#ifndef PLUGIN_NAME
#define PLUGIN_NAME "probe"
#endif
#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "1.0.0"
#endif
#ifndef ABI_MAJOR
#define ABI_MAJOR TOOLHOST_ABI_MAJOR
#endif
#ifndef ABI_MINOR
#define ABI_MINOR TOOLHOST_ABI_MINOR
#endif

#ifdef FIXTURE_INSTANCE
/* Makes each instance a different file (and so a different private copy with its own statics). */
__attribute__((used)) static const char probe_instance[] = FIXTURE_INSTANCE;
#endif

static void sleep_ms(long ms) {
    if (ms <= 0) return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

/* Waits until the file at path exists (1 ms polls, at most 10 minutes); stops early when call is given and
 * cancelled. Returns whether the gate opened. */
static int wait_for_gate(const char *path, const toolhost_call *call) {
    for (long waited = 0; waited < 600000; waited++) {
        if (access(path, F_OK) == 0) return 1;
        if (call && call->host->is_cancelled(call)) return 0;
        sleep_ms(1);
    }
    return 0;
}

/* Reads the integer member `key` of a flat arguments object (0 when absent). */
static long int_arg(const char *json, size_t len, const char *key) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *found = memmem(json, len, pattern, strlen(pattern));
    if (!found) return 0;
    return strtol(found + strlen(pattern), NULL, 10);
}

/* Copies the string member `key` (no escapes) into out. */
static void str_arg(const char *json, size_t len, const char *key, char *out, size_t cap) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    out[0] = 0;
    const char *found = memmem(json, len, pattern, strlen(pattern));
    if (!found) return;
    found += strlen(pattern);
    size_t i = 0;
    while (found < json + len && *found != '"' && i + 1 < cap) out[i++] = *found++;
    out[i] = 0;
}

static int32_t reply(const toolhost_call *call, const char *text) {
    return call->host->write_result(call, text, strlen(text)) == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
}

static int32_t echo(const toolhost_call *call, const char *args, size_t len) {
    return call->host->write_result(call, args, len) == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
}

/* Sleeps up to ms in 1 ms steps, stopping early when cancelled; sleep_read tells what the last one saw. */
static atomic_int sleeps_started, sleeps_cancelled, sleeps_finished;
static int32_t sleep_tool(const toolhost_call *call, const char *args, size_t len) {
    long ms = int_arg(args, len, "ms"), slept = 0;
    int cancelled = 0;
    char gate[512];
    str_arg(args, len, "gate", gate, sizeof gate);
    atomic_fetch_add(&sleeps_started, 1);
    if (gate[0] && !wait_for_gate(gate, call)) cancelled = 1;
    while (!cancelled && slept < ms) {
        if (call->host->is_cancelled(call)) { cancelled = 1; break; }
        sleep_ms(1);
        slept++;
    }
    if (cancelled) atomic_fetch_add(&sleeps_cancelled, 1);
    atomic_fetch_add(&sleeps_finished, 1);
    char out[96];
    snprintf(out, sizeof out, "{\"slept\":%ld,\"cancelled\":%s}", slept, cancelled ? "true" : "false");
    return reply(call, out);
}

static int32_t sleep_read(const toolhost_call *call, const char *args, size_t len) {
    (void)args; (void)len;
    char out[96];
    snprintf(out, sizeof out, "{\"started\":%d,\"cancelled\":%d,\"finished\":%d}", atomic_load(&sleeps_started),
             atomic_load(&sleeps_cancelled), atomic_load(&sleeps_finished));
    return reply(call, out);
}

/* Sleeps ms and ignores cancellation: a hung plugin. */
static int32_t hang(const toolhost_call *call, const char *args, size_t len) {
    char gate[512];
    str_arg(args, len, "gate", gate, sizeof gate);
    if (gate[0]) wait_for_gate(gate, NULL);
    sleep_ms(int_arg(args, len, "ms"));
    return reply(call, "{\"done\":true}");
}

/* Counts calls in flight and remembers the most seen at once. */
static atomic_int in_flight, max_in_flight;
static int32_t gauge(const toolhost_call *call, const char *args, size_t len) {
    int now = atomic_fetch_add(&in_flight, 1) + 1;
    int seen = atomic_load(&max_in_flight);
    while (now > seen && !atomic_compare_exchange_weak(&max_in_flight, &seen, now)) {}
    sleep_ms(int_arg(args, len, "ms"));
    atomic_fetch_sub(&in_flight, 1);
    char out[64];
    snprintf(out, sizeof out, "{\"max\":%d}", atomic_load(&max_in_flight));
    return reply(call, out);
}
static int32_t gauge_read(const toolhost_call *call, const char *args, size_t len) {
    (void)args; (void)len;
    char out[64];
    snprintf(out, sizeof out, "{\"max\":%d,\"now\":%d}", atomic_load(&max_in_flight), atomic_load(&in_flight));
    if (int_arg(args, len, "reset")) atomic_store(&max_in_flight, 0);
    return reply(call, out);
}

/* Fails transiently the first `failures` calls with the same key, then succeeds. */
static pthread_mutex_t flaky_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { char key[32]; int calls; } flaky_table[64];
static int32_t flaky(const toolhost_call *call, const char *args, size_t len) {
    char key[32];
    str_arg(args, len, "key", key, sizeof key);
    long failures = int_arg(args, len, "failures");
    int calls = 0;
    pthread_mutex_lock(&flaky_lock);
    for (int i = 0; i < 64; i++) {
        if (flaky_table[i].key[0] == 0) strcpy(flaky_table[i].key, key);
        if (strcmp(flaky_table[i].key, key) == 0) { calls = ++flaky_table[i].calls; break; }
    }
    pthread_mutex_unlock(&flaky_lock);
    if (calls <= failures) {
        call->host->write_error(call, "busy, try again", 15);
        return TOOLHOST_ERR_TRANSIENT;
    }
    char out[64];
    snprintf(out, sizeof out, "{\"calls\":%d}", calls);
    return reply(call, out);
}

static int32_t fail(const toolhost_call *call, const char *args, size_t len) {
    (void)args; (void)len;
    call->host->write_error(call, "disk on fire", 12);
    return TOOLHOST_ERR_FAILED;
}

static int32_t reject(const toolhost_call *call, const char *args, size_t len) {
    (void)args; (void)len;
    call->host->write_error(call, "x must be even", 14);
    return TOOLHOST_ERR_INVALID_ARGUMENTS;
}

/* Returns the status in "status" (an error) without writing a message. */
static int32_t mute(const toolhost_call *call, const char *args, size_t len) {
    (void)call;
    return (int32_t)int_arg(args, len, "status");
}

/* The stack size of the thread running the call. */
static int32_t stack(const toolhost_call *call, const char *args, size_t len) {
    (void)args; (void)len;
    pthread_attr_t attributes;
    void *address;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attributes) == 0) {
        pthread_attr_getstack(&attributes, &address, &size);
        pthread_attr_destroy(&attributes);
    }
    char out[64];
    snprintf(out, sizeof out, "{\"stackBytes\":%zu}", size);
    return reply(call, out);
}

static int32_t bad_json(const toolhost_call *call, const char *args, size_t len) {
    (void)args; (void)len;
    return reply(call, "{not json");
}

/* Returns OK without writing a result. */
static int32_t silent(const toolhost_call *call, const char *args, size_t len) {
    (void)call; (void)args; (void)len;
    return TOOLHOST_OK;
}

/* Writes a JSON string of `bytes` x's, in 64 KiB pieces. */
static int32_t big(const toolhost_call *call, const char *args, size_t len) {
    long bytes = int_arg(args, len, "bytes");
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    if (call->host->write_result(call, "\"", 1) != 0) return TOOLHOST_ERR_FAILED;
    while (bytes > 0) {
        size_t n = bytes > (long)sizeof chunk ? sizeof chunk : (size_t)bytes;
        if (call->host->write_result(call, chunk, n) != 0) {
            call->host->write_error(call, "result too large", 16);
            return TOOLHOST_ERR_FAILED;
        }
        bytes -= (long)n;
    }
    return call->host->write_result(call, "\"", 1) == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
}

/* Counts its executions; sleeps ms first so identical calls overlap. */
static atomic_int executions;
static int32_t count(const toolhost_call *call, const char *args, size_t len) {
    int n = atomic_fetch_add(&executions, 1) + 1;
    sleep_ms(int_arg(args, len, "ms"));
    char out[64];
    snprintf(out, sizeof out, "{\"executions\":%d}", n);
    return reply(call, out);
}
static int32_t count_read(const toolhost_call *call, const char *args, size_t len) {
    (void)args; (void)len;
    char out[64];
    snprintf(out, sizeof out, "{\"executions\":%d}", atomic_load(&executions));
    return reply(call, out);
}

/* Appends its tag to a log (after sleeping ms); order_log returns the log. */
static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;
static char order_text[4096];
static int32_t order(const toolhost_call *call, const char *args, size_t len) {
    char tag[32];
    str_arg(args, len, "tag", tag, sizeof tag);
    pthread_mutex_lock(&order_lock);
    if (strlen(order_text) + strlen(tag) + 2 < sizeof order_text) {
        if (order_text[0]) strcat(order_text, ",");
        strcat(order_text, tag);
    }
    pthread_mutex_unlock(&order_lock);
    char gate[512];
    str_arg(args, len, "gate", gate, sizeof gate);
    if (gate[0]) wait_for_gate(gate, NULL);
    sleep_ms(int_arg(args, len, "ms"));
    return reply(call, "{}");
}
static int32_t order_log(const toolhost_call *call, const char *args, size_t len) {
    (void)args; (void)len;
    char out[4200];
    pthread_mutex_lock(&order_lock);
    snprintf(out, sizeof out, "{\"log\":\"%s\"}", order_text);
    pthread_mutex_unlock(&order_lock);
    return reply(call, out);
}

/* The JSON-handler twin of a typed hypot: parses {"x": n, "y": n} and writes {"result": r}. */
static double double_arg(const char *json, size_t len, const char *key) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *found = memmem(json, len, pattern, strlen(pattern));
    return found ? strtod(found + strlen(pattern), NULL) : 0;
}
static int32_t hypot_tool(const toolhost_call *call, const char *args, size_t len) {
    double x = double_arg(args, len, "x"), y = double_arg(args, len, "y");
    char out[64];
    snprintf(out, sizeof out, "{\"result\":%.17g}", __builtin_sqrt(x * x + y * y));
    return reply(call, out);
}

/* Writes to stdout and stderr, as careless plugin code does. */
static int32_t print(const toolhost_call *call, const char *args, size_t len) {
    (void)args; (void)len;
    printf("probe says hello on stdout\n");
    fflush(stdout);
    fprintf(stderr, "probe says hello on stderr\n");
    return reply(call, "{\"printed\":true}");
}

/* Logs through the host. */
static int32_t log_tool(const toolhost_call *call, const char *args, size_t len) {
    (void)args; (void)len;
    call->host->log(call->host, call, TOOLHOST_LOG_WARNING, "probe log line", 14);
    return reply(call, "{\"logged\":true}");
}

/* Keeps the call pointer and uses it after returning, from a thread of its own. */
static const toolhost_call *stale_call;
static int stale_write, stale_cancelled, stale_progress;
static void *use_stale(void *unused) {
    (void)unused;
    stale_write = stale_call->host->write_result(stale_call, "1", 1);
    stale_cancelled = stale_call->host->is_cancelled(stale_call);
    stale_progress = stale_call->host->report_progress(stale_call, 1, 2, "late", 4);
    return NULL;
}
static int32_t stale(const toolhost_call *call, const char *args, size_t len) {
    (void)args; (void)len;
    const toolhost_call *previous = stale_call;
    stale_write = stale_cancelled = stale_progress = -2;
    if (previous) {
        /* A call pointer used outside its call: writes are refused (-1), is_cancelled says 1. */
        pthread_t thread;
        pthread_create(&thread, NULL, use_stale, NULL);
        pthread_join(thread, NULL);
    }
    stale_call = call;
    char out[96];
    snprintf(out, sizeof out, "{\"staleWrite\":%d,\"staleCancelled\":%d,\"staleProgress\":%d}", stale_write,
             stale_cancelled, stale_progress);
    return reply(call, out);
}

/* Whether the host's table has report_progress (ABI 1.2): a plugin that may run on an older host checks. */
static int has_progress(const toolhost_call *call) {
    return call->host->struct_size >= offsetof(toolhost_host_api, report_progress) + sizeof(void *);
}

/* Reports progress `count` times (done 1..count of `total`, unknown when total is 0; "step N" messages), then holds
 * the call until `gate` opens (or it is cancelled): a test sees the notifications before the result. With `hold`
 * it reports done=count once more after the gate. Returns {"reported": n, "refused": n}. */
static int32_t progress(const toolhost_call *call, const char *args, size_t len) {
    long count = int_arg(args, len, "count"), total = int_arg(args, len, "total"), refused = 0;
    char gate[512];
    str_arg(args, len, "gate", gate, sizeof gate);
    if (!has_progress(call)) return reply(call, "{\"reported\":0,\"refused\":0,\"noProgress\":true}");
    for (long i = 1; i <= count; i++) {
        char message[32];
        int n = snprintf(message, sizeof message, "step %ld", i);
        if (call->host->report_progress(call, (double)i, total > 0 ? (double)total : -1, message, (size_t)n) != 0)
            refused++;
    }
    if (gate[0]) wait_for_gate(gate, call);
    char out[96];
    snprintf(out, sizeof out, "{\"reported\":%ld,\"refused\":%ld}", count, refused);
    return reply(call, out);
}

/* Reports `count` times, one every `every_ms`, each with its CLOCK_MONOTONIC time in the message ("t=NS"): a client
 * on the same machine measures how long a report takes to reach it (Benchmarks/progress_latency.py). */
static int32_t progress_ticks(const toolhost_call *call, const char *args, size_t len) {
    long count = int_arg(args, len, "count"), every = int_arg(args, len, "every_ms");
    for (long i = 1; i <= count && !call->host->is_cancelled(call); i++) {
        sleep_ms(every);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        char message[48];
        int n = snprintf(message, sizeof message, "t=%lld", (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
        call->host->report_progress(call, (double)i, (double)count, message, (size_t)n);
    }
    return reply(call, "{}");
}

/* Reports once, waits until the call is cancelled or past its deadline (the caller was answered), reports again
 * and records what that report returned: progress_read tells. */
static atomic_int late_first = -2, late_after = -2;
static int32_t progress_late(const toolhost_call *call, const char *args, size_t len) {
    (void)args; (void)len;
    atomic_store(&late_first, call->host->report_progress(call, 1, 2, "first", 5));
    for (long waited = 0; waited < 600000 && !call->host->is_cancelled(call); waited++) sleep_ms(1);
    atomic_store(&late_after, call->host->report_progress(call, 2, 2, "late", 4));
    return reply(call, "{}");
}
static int32_t progress_read(const toolhost_call *call, const char *args, size_t len) {
    (void)args; (void)len;
    char out[96];
    snprintf(out, sizeof out, "{\"first\":%d,\"after\":%d}", atomic_load(&late_first), atomic_load(&late_after));
    return reply(call, out);
}

typedef struct {
    const char *name;
    toolhost_handler_fn handler;
    uint32_t flags;
} tool;

__attribute__((unused)) static const tool tools[] = {
    {"echo", echo, TOOLHOST_TOOL_THREAD_SAFE},
    {"sleep", sleep_tool, TOOLHOST_TOOL_THREAD_SAFE},
    {"sleep_read", sleep_read, TOOLHOST_TOOL_THREAD_SAFE},
    {"hang", hang, TOOLHOST_TOOL_THREAD_SAFE},
    {"gauge", gauge, TOOLHOST_TOOL_THREAD_SAFE},
    {"serial", gauge, 0},
    {"gauge_read", gauge_read, TOOLHOST_TOOL_THREAD_SAFE},
    {"flaky", flaky, TOOLHOST_TOOL_THREAD_SAFE},
    {"fail", fail, TOOLHOST_TOOL_THREAD_SAFE},
    {"reject", reject, TOOLHOST_TOOL_THREAD_SAFE},
    {"bad_json", bad_json, TOOLHOST_TOOL_THREAD_SAFE},
    {"mute", mute, TOOLHOST_TOOL_THREAD_SAFE},
    {"stack", stack, TOOLHOST_TOOL_THREAD_SAFE},
    {"silent", silent, TOOLHOST_TOOL_THREAD_SAFE},
    {"big", big, TOOLHOST_TOOL_THREAD_SAFE},
    {"count", count, TOOLHOST_TOOL_THREAD_SAFE},
    {"count_read", count_read, TOOLHOST_TOOL_THREAD_SAFE},
    {"order", order, TOOLHOST_TOOL_THREAD_SAFE},
    {"order_log", order_log, TOOLHOST_TOOL_THREAD_SAFE},
    {"print", print, TOOLHOST_TOOL_THREAD_SAFE},
    {"log", log_tool, TOOLHOST_TOOL_THREAD_SAFE},
    {"stale", stale, 0},
    {"hypot", hypot_tool, TOOLHOST_TOOL_THREAD_SAFE},
    {"progress", progress, TOOLHOST_TOOL_THREAD_SAFE},
    {"progress_late", progress_late, TOOLHOST_TOOL_THREAD_SAFE},
    {"progress_ticks", progress_ticks, TOOLHOST_TOOL_THREAD_SAFE},
    {"progress_read", progress_read, TOOLHOST_TOOL_THREAD_SAFE},
};

static int32_t probe_init(const toolhost_host_api *host, const toolhost_registrar *reg, void **state) {
    (void)state;
#ifdef INIT_FAILS
    host->log(host, NULL, TOOLHOST_LOG_ERROR, "probe: cannot open its database", 31);
    (void)reg;
    return TOOLHOST_ERR_FAILED;
#else
    (void)host;
#ifdef INIT_CRASHES
    *(volatile int *)(uintptr_t)8 = 1;
#endif
#ifdef INIT_SLEEP_MS
    sleep_ms(INIT_SLEEP_MS);
#endif
#ifdef INIT_GATE
    wait_for_gate(INIT_GATE, NULL);
#endif
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        toolhost_tool_desc desc = {sizeof(toolhost_tool_desc), tools[i].flags, tools[i].name, "probe tool",
                                   tools[i].handler, NULL};
        reg->register_tool(reg, &desc);
#ifdef REGISTER_TWICE
        if (i == 0) reg->register_tool(reg, &desc);
#endif
    }
#ifdef EXTRA_TOOL
    toolhost_tool_desc extra = {sizeof(toolhost_tool_desc), 0, "undeclared", "not in the manifest", echo, NULL};
    reg->register_tool(reg, &extra);
#endif
    return TOOLHOST_OK;
#endif
}

__attribute__((unused)) static const toolhost_plugin_desc probe = {
    sizeof(toolhost_plugin_desc), ABI_MAJOR, ABI_MINOR, 0, PLUGIN_NAME, PLUGIN_VERSION, probe_init, NULL};

#ifdef NO_ENTRY
TOOLHOST_EXPORT const toolhost_plugin_desc *probe_entry_misnamed(uint32_t major, uint32_t minor)
#else
TOOLHOST_EXPORT const toolhost_plugin_desc *toolhost_plugin_entry(uint32_t major, uint32_t minor)
#endif
{
    (void)major;
    (void)minor;
#ifdef NULL_DESCRIPTOR
    return NULL;
#else
    return &probe;
#endif
}
