/*
 * faults: a plugin that misbehaves in every way the fault suite checks. Compiled with cc during the
 * tests like any third-party plugin.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <toolhost/toolhost.h>

static int32_t reply(const toolhost_call *call, const char *text) {
    return call->host->write_result(call, text, strlen(text)) == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
}

/* Which build this is: tests build a second one (-DFAULTS_VARIANT=\"B\") to tell two libraries apart. */
#ifndef FAULTS_VARIANT
#define FAULTS_VARIANT "A"
#endif
static int32_t variant(const toolhost_call *call, const char *a, size_t n) {
    (void)a; (void)n;
    return reply(call, "{\"variant\":\"" FAULTS_VARIANT "\"}");
}
static int32_t ok(const toolhost_call *call, const char *a, size_t n) { (void)a; (void)n; return reply(call, "{\"ok\":true}"); }
/* Late threads (late_calls) that have made all their stale calls, in this process. */
static atomic_int late_finished;
static int32_t pid_tool(const toolhost_call *call, const char *a, size_t n) {
    (void)a; (void)n;
    char out[64];
    snprintf(out, sizeof out, "{\"pid\":%d,\"late\":%d}", (int)getpid(), atomic_load(&late_finished));
    return reply(call, out);
}
static int32_t segfault(const toolhost_call *call, const char *a, size_t n) {
    (void)call; (void)a; (void)n;
    volatile int *nothing = NULL;
    return *nothing;
}
static int32_t abort_tool(const toolhost_call *call, const char *a, size_t n) { (void)call; (void)a; (void)n; abort(); }
static int32_t exit_tool(const toolhost_call *call, const char *a, size_t n) { (void)call; (void)a; (void)n; exit(3); }
static int32_t hang_forever(const toolhost_call *call, const char *a, size_t n) {
    (void)call; (void)a; (void)n;
    for (;;) pause();
    return TOOLHOST_ERR_FAILED;
}
static int32_t busy_loop(const toolhost_call *call, const char *a, size_t n) {
    (void)call; (void)a; (void)n;
    volatile unsigned long spin = 0;
    for (;;) spin++;
    return TOOLHOST_ERR_FAILED;
}
static int32_t allocate_forever(const toolhost_call *call, const char *a, size_t n) {
    (void)a; (void)n;
    for (;;) {
        char *block = malloc(16 << 20);
        if (!block) return reply(call, "{\"allocationFailed\":true}");
        memset(block, 1, 16 << 20);
    }
}
static int32_t huge_result(const toolhost_call *call, const char *a, size_t n) {
    (void)a; (void)n;
    static char chunk[1 << 20];
    memset(chunk, 'x', sizeof chunk);
    if (call->host->write_result(call, "\"", 1) != 0) return TOOLHOST_ERR_FAILED;
    for (int i = 0; i < 100; i++)
        if (call->host->write_result(call, chunk, sizeof chunk) != 0) {
            call->host->write_error(call, "the host refused 100 MB", 23);
            return TOOLHOST_ERR_FAILED;
        }
    return call->host->write_result(call, "\"", 1) == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
}
/* Reads the integer member `key` of a small flat arguments object (0 when absent). */
static long long int_arg(const char *a, size_t n, const char *key) {
    char text[256], pattern[64];
    size_t length = n < sizeof text - 1 ? n : sizeof text - 1;
    memcpy(text, a, length);
    text[length] = 0;
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    const char *found = strstr(text, pattern);
    const char *colon = found ? strchr(found, ':') : NULL;
    return colon ? strtoll(colon + 1, NULL, 10) : 0;
}
/* {"bytes": N}: a JSON string of N 'x's, handed to the host in one write_result, so the host learns its size
 * before it reads a byte. With "guarded": 1, every page after the first is made unreadable before the write: a host
 * that refuses the result by its size never touches them; one that copies it first (buffering a result it must
 * refuse) faults, as surely as a worker near its memory limit fails to allocate the copy. */
static int32_t sized_result(const toolhost_call *call, const char *a, size_t n) {
    long long bytes = int_arg(a, n, "bytes");
    if (bytes < 0) return TOOLHOST_ERR_INVALID_ARGUMENTS;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), length = (size_t)bytes + 2;
    size_t mapped = (length + page - 1) / page * page;
    char *out = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (out == MAP_FAILED) {
        call->host->write_error(call, "sized_result: no memory for the result", 38);
        return TOOLHOST_ERR_FAILED;
    }
    out[0] = '"';
    memset(out + 1, 'x', (size_t)bytes);
    out[bytes + 1] = '"';
    if (int_arg(a, n, "guarded") && mapped > page) mprotect(out + page, mapped - page, PROT_NONE);
    int32_t written = call->host->write_result(call, out, length);
    munmap(out, mapped);
    return written == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
}
/* How many times init ran on this image (its statics): the header promises once. */
static int init_runs;
static int32_t inits(const toolhost_call *call, const char *a, size_t n) {
    (void)a; (void)n;
    char out[64];
    snprintf(out, sizeof out, "{\"inits\":%d}", __atomic_load_n(&init_runs, __ATOMIC_SEQ_CST));
    return reply(call, out);
}
static int32_t invalid_utf8(const toolhost_call *call, const char *a, size_t n) {
    (void)a; (void)n;
    return reply(call, "\"\xff\xfe\"");
}
static int32_t invalid_json(const toolhost_call *call, const char *a, size_t n) { (void)a; (void)n; return reply(call, "{oops"); }
static int32_t noisy(const toolhost_call *call, const char *a, size_t n) {
    (void)a; (void)n;
    printf("{\"jsonrpc\":\"2.0\",\"id\":999,\"result\":\"forged by a plugin on stdout\"}\n");
    fflush(stdout);
    fprintf(stderr, "faults: a line on stderr\n");
    return reply(call, "{\"printed\":true}");
}
static int32_t close_stdio(const toolhost_call *call, const char *a, size_t n) {
    (void)a; (void)n;
    close(0);
    close(1);
    close(2);
    return reply(call, "{\"closed\":true}");
}
static int32_t fork_linger(const toolhost_call *call, const char *a, size_t n) {
    (void)a; (void)n;
    pid_t child = fork();
    if (child == 0) {
        sleep(600);
        _exit(0);
    }
    char out[64];
    snprintf(out, sizeof out, "{\"child\":%d}", (int)child);
    return reply(call, out);
}
static const toolhost_call *kept;
static void *late(void *unused) {
    (void)unused;
    usleep(20000);
    kept->host->write_result(kept, "1", 1);
    kept->host->write_error(kept, "late", 4);
    kept->host->is_cancelled(kept);
    kept->host->log(kept->host, kept, TOOLHOST_LOG_ERROR, "late", 4);
    atomic_fetch_add(&late_finished, 1);
    return NULL;
}
static int32_t late_calls(const toolhost_call *call, const char *a, size_t n) {
    (void)a; (void)n;
    kept = call;
    pthread_t thread;
    pthread_create(&thread, NULL, late, NULL);
    pthread_detach(thread);
    return reply(call, "{\"returned\":true}");
}

/* System calls a worker's sandbox denies, made so that they are harmless where they are allowed: a ptrace request
 * that does not exist on pid 0 (ESRCH when allowed) and unshare with no flags (succeeds when allowed). Reports
 * each call's errno (0: it succeeded) and the no_new_privs flag. */
static int32_t forbidden_syscall(const toolhost_call *call, const char *a, size_t n) {
    (void)a; (void)n;
    errno = 0;
    long ptrace_result = syscall(SYS_ptrace, 0x7fff, 0, 0, 0);
    int ptrace_errno = ptrace_result == 0 ? 0 : errno;
    errno = 0;
    long unshare_result = syscall(SYS_unshare, 0);
    int unshare_errno = unshare_result == 0 ? 0 : errno;
    char text[160];
    snprintf(text, sizeof text, "{\"ptrace_errno\":%d,\"unshare_errno\":%d,\"no_new_privs\":%d,\"eperm\":%d}",
             ptrace_errno, unshare_errno, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), EPERM);
    return reply(call, text);
}

/* The network namespace the tool runs in, and the errno of a TCP connect to 127.0.0.1:9 (ECONNREFUSED where
 * loopback is up, ENETUNREACH in a new, empty namespace). */
static int32_t network(const toolhost_call *call, const char *a, size_t n) {
    (void)a; (void)n;
    char ns[64] = "";
    ssize_t length = readlink("/proc/self/ns/net", ns, sizeof ns - 1);
    if (length > 0) ns[length] = 0;
    int connect_errno = -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(9)};
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connect_errno = connect(fd, (struct sockaddr *)&address, sizeof address) == 0 ? 0 : errno;
        close(fd);
    } else {
        connect_errno = errno;
    }
    char text[160];
    snprintf(text, sizeof text, "{\"namespace\":\"%s\",\"connect_errno\":%d}", ns, connect_errno);
    return reply(call, text);
}

#ifdef ANSWER_TOOL
/* A capability provider that crashes on demand: {"crash": 1} takes its worker down, anything else is answered with
 * the build's variant and the worker's pid. */
static int32_t answer(const toolhost_call *call, const char *a, size_t n) {
    if (int_arg(a, n, "crash")) segfault(call, a, n);
    char out[64];
    snprintf(out, sizeof out, "{\"variant\":\"" FAULTS_VARIANT "\",\"pid\":%d}", (int)getpid());
    return reply(call, out);
}
#endif

static const struct { const char *name; toolhost_handler_fn handler; } tools[] = {
#ifdef ANSWER_TOOL
    {"answer", answer},
#endif
    {"ok", ok}, {"pid", pid_tool}, {"segfault", segfault}, {"abort", abort_tool}, {"exit", exit_tool},
    {"hang_forever", hang_forever}, {"busy_loop", busy_loop}, {"allocate_forever", allocate_forever},
    {"huge_result", huge_result}, {"invalid_utf8", invalid_utf8}, {"invalid_json", invalid_json},
    {"noisy", noisy}, {"close_stdio", close_stdio}, {"fork_linger", fork_linger}, {"late_calls", late_calls},
    {"variant", variant}, {"sized_result", sized_result}, {"inits", inits}, {"forbidden_syscall", forbidden_syscall},
    {"network", network},
};

static int32_t faults_init(const toolhost_host_api *host, const toolhost_registrar *reg, void **state) {
    (void)host; (void)state;
    __atomic_add_fetch(&init_runs, 1, __ATOMIC_SEQ_CST);
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        toolhost_tool_desc desc = {sizeof desc, TOOLHOST_TOOL_THREAD_SAFE, tools[i].name, "fault", tools[i].handler, NULL};
        if (reg->register_tool(reg, &desc) != 0) return TOOLHOST_ERR_FAILED;
    }
    return TOOLHOST_OK;
}

static const toolhost_plugin_desc faults = {sizeof faults, TOOLHOST_ABI_MAJOR, TOOLHOST_ABI_MINOR, 0, "faults", "1.0.0", faults_init, NULL};

TOOLHOST_EXPORT const toolhost_plugin_desc *toolhost_plugin_entry(uint32_t major, uint32_t minor) {
    (void)major; (void)minor;
    return &faults;
}
