// mcpload: a native load client for toolhost's MCP front ends (issue 4, item 8).
//
//   mcpload stdio TOOLHOST PLUGINS CONCURRENCY CALLS RUNS    MCP over stdio: spawns `TOOLHOST mcp`
//   mcpload http  TOOLHOST PLUGINS CONCURRENCY CALLS RUNS    MCP Streamable HTTP: spawns `TOOLHOST serve`
//   mcpload spawn TOOLHOST PLUGINS COUNT                     spawn `TOOLHOST mcp` -> answered initialize
//
// Every call is `tools/call probe.echo {"a": 1}` (the probe fixture's trivial JSON tool). The client is one thread
// with no allocation per call: stdio keeps CONCURRENCY requests in flight on the pipe (a new one is written as
// each response arrives, several per write); HTTP keeps CONCURRENCY keep-alive connections in one session,
// each with one request in flight, multiplexed with poll(2). Each run times CALLS calls after 2000 warm-up
// calls and prints calls/s and the p50/p99 of the per-call latency (request written -> response read); the
// last line is the median of the runs. Each run also reports the server's CPU time (user + system, from
// /proc/PID/stat) per call, which a busy machine disturbs much less than the rates.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void die(const char *what) {
    fprintf(stderr, "mcpload: %s: %s\n", what, strerror(errno));
    exit(1);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t percentile(uint64_t *sorted, size_t count, double p) {
    size_t index = (size_t)(p * (double)(count - 1) + 0.5);
    return sorted[index];
}

static void write_all(int fd, const char *bytes, size_t count) {
    while (count > 0) {
        ssize_t written = write(fd, bytes, count);
        if (written < 0) {
            if (errno == EINTR) continue;
            die("write");
        }
        bytes += written;
        count -= (size_t)written;
    }
}

// ---- the child process --------------------------------------------------------------------------------------

typedef struct {
    pid_t pid;
    int to_child;    // its stdin
    int from_child;  // its stdout
    int errors;      // its stderr
} child_t;

static child_t spawn_toolhost(const char *toolhost, char *const argv[]) {
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) die("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    child_t child;
    if (posix_spawn(&child.pid, toolhost, &actions, NULL, argv, environ) != 0) die("posix_spawn");
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    child.to_child = in[1];
    child.from_child = out[0];
    child.errors = err[0];
    return child;
}

static void stop_child(child_t *child, int signal_number) {
    if (signal_number) kill(child->pid, signal_number);
    close(child->to_child);
    int status;
    waitpid(child->pid, &status, 0);
    close(child->from_child);
    close(child->errors);
}

// ---- messages -----------------------------------------------------------------------------------------------

static const char initialize_message[] =
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\","
    "\"capabilities\":{},\"clientInfo\":{\"name\":\"mcpload\",\"version\":\"1\"}}}";
static const char initialized_message[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";

static int format_call(char *out, uint64_t id) {
    return sprintf(out,
        "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"tools/call\",\"params\":{\"name\":\"probe.echo\","
        "\"arguments\":{\"a\":1}}}",
        (unsigned long long)id);
}

// The id of a response: the number after the first "id": (the server writes it before the result).
static int64_t response_id(const char *message, size_t length) {
    const char *found = memmem(message, length, "\"id\":", 5);
    if (!found) return -1;
    found += 5;
    int64_t value = 0;
    int digits = 0;
    while (found < message + length && *found >= '0' && *found <= '9') {
        value = value * 10 + (*found - '0');
        found++;
        digits++;
    }
    return digits ? value : -1;
}

// ---- results ------------------------------------------------------------------------------------------------

typedef struct {
    double calls_per_second;
    double p50_us, p99_us;
    double server_cpu_us;  // the server's CPU time (user + system) per call
} run_result_t;

// The CPU time a process has used so far (user + system), in microseconds, from /proc/PID/stat.
static double process_cpu_us(pid_t pid) {
    char path[64], text[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *file = fopen(path, "r");
    if (!file) return 0;
    size_t length = fread(text, 1, sizeof(text) - 1, file);
    fclose(file);
    text[length] = 0;
    char *field = strrchr(text, ')');  // the command name may hold spaces
    if (!field) return 0;
    unsigned long long utime = 0, stime = 0;
    // After ") ": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime.
    if (sscanf(field + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) return 0;
    return (double)(utime + stime) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

static run_result_t summarize(uint64_t *latencies, size_t count, uint64_t elapsed_ns, double cpu_us) {
    qsort(latencies, count, sizeof(uint64_t), compare_u64);
    run_result_t result;
    result.server_cpu_us = cpu_us / (double)count;
    result.calls_per_second = (double)count / ((double)elapsed_ns / 1e9);
    result.p50_us = (double)percentile(latencies, count, 0.50) / 1000.0;
    result.p99_us = (double)percentile(latencies, count, 0.99) / 1000.0;
    return result;
}

static void report(const char *mode, int concurrency, run_result_t *runs, int count) {
    double rates[64], p50[64], p99[64], cpu[64];
    for (int i = 0; i < count; i++) {
        printf("%s c=%d run %d: %.0f calls/s, p50 %.1f us, p99 %.1f us, server CPU %.1f us/call\n", mode,
            concurrency, i + 1, runs[i].calls_per_second, runs[i].p50_us, runs[i].p99_us, runs[i].server_cpu_us);
        rates[i] = runs[i].calls_per_second;
        p50[i] = runs[i].p50_us;
        p99[i] = runs[i].p99_us;
        cpu[i] = runs[i].server_cpu_us;
    }
    qsort(rates, (size_t)count, sizeof(double), compare_double);
    qsort(p50, (size_t)count, sizeof(double), compare_double);
    qsort(p99, (size_t)count, sizeof(double), compare_double);
    qsort(cpu, (size_t)count, sizeof(double), compare_double);
    printf("%s c=%d median of %d runs: %.0f calls/s, p50 %.1f us, p99 %.1f us, server CPU %.1f us/call\n", mode,
        concurrency, count, rates[count / 2], p50[count / 2], p99[count / 2], cpu[count / 2]);
    fflush(stdout);
}

// ---- stdio --------------------------------------------------------------------------------------------------

typedef struct {
    child_t child;
    char *buffer;
    size_t capacity, start, end;
    uint64_t next_id;
    uint64_t *sent_at;  // indexed by id
    size_t sent_capacity;
} stdio_client_t;

// Reads until at least one complete line is buffered; returns the line (without the newline) or NULL at EOF.
static char *stdio_next_line(stdio_client_t *client, size_t *length) {
    for (;;) {
        char *newline = memchr(client->buffer + client->start, '\n', client->end - client->start);
        if (newline) {
            char *line = client->buffer + client->start;
            *length = (size_t)(newline - line);
            client->start = (size_t)(newline - client->buffer) + 1;
            return line;
        }
        if (client->start > 0) {
            memmove(client->buffer, client->buffer + client->start, client->end - client->start);
            client->end -= client->start;
            client->start = 0;
        }
        if (client->end == client->capacity) {
            client->capacity *= 2;
            client->buffer = realloc(client->buffer, client->capacity);
        }
        ssize_t count = read(client->child.from_child, client->buffer + client->end, client->capacity - client->end);
        if (count < 0 && errno == EINTR) continue;
        if (count <= 0) return NULL;
        client->end += (size_t)count;
    }
}

// Whether a complete line is already buffered (no read needed).
static int stdio_has_line(stdio_client_t *client) {
    return memchr(client->buffer + client->start, '\n', client->end - client->start) != NULL;
}

static void stdio_send_calls(stdio_client_t *client, int count) {
    static char batch[1 << 16];
    size_t used = 0;
    uint64_t now = now_ns();
    for (int i = 0; i < count; i++) {
        uint64_t id = client->next_id++;
        if (id >= client->sent_capacity) {
            client->sent_capacity *= 2;
            client->sent_at = realloc(client->sent_at, client->sent_capacity * sizeof(uint64_t));
        }
        client->sent_at[id] = now;
        used += (size_t)format_call(batch + used, id);
        batch[used++] = '\n';
        if (used > sizeof(batch) - 512) {
            write_all(client->child.to_child, batch, used);
            used = 0;
        }
    }
    if (used) write_all(client->child.to_child, batch, used);
}

// Makes `calls` calls with `concurrency` in flight; latencies[i] gets each call's latency when non-NULL.
static uint64_t stdio_phase(stdio_client_t *client, int concurrency, size_t calls, uint64_t *latencies) {
    uint64_t started = now_ns();
    size_t sent = (size_t)concurrency < calls ? (size_t)concurrency : calls;
    size_t done = 0;
    stdio_send_calls(client, (int)sent);
    while (done < calls) {
        int answered = 0;
        do {
            size_t length;
            char *line = stdio_next_line(client, &length);
            if (!line) {
                fprintf(stderr, "mcpload: toolhost mcp closed its output\n");
                exit(1);
            }
            int64_t id = response_id(line, length);
            if (id <= 0 || memmem(line, length, "\"isError\":false", 15) == NULL) {
                fprintf(stderr, "mcpload: unexpected message: %.*s\n", (int)length, line);
                exit(1);
            }
            if (latencies) latencies[done] = now_ns() - client->sent_at[id];
            done++;
            answered++;
        } while (stdio_has_line(client) && done < calls);
        size_t more = calls - sent < (size_t)answered ? calls - sent : (size_t)answered;
        if (more) stdio_send_calls(client, (int)more);
        sent += more;
    }
    return now_ns() - started;
}

static int run_stdio(const char *toolhost, const char *plugins, int concurrency, size_t calls, int runs) {
    char *argv[] = {(char *)toolhost, "mcp", "--plugins", (char *)plugins, NULL};
    run_result_t results[64];
    uint64_t *latencies = malloc(calls * sizeof(uint64_t));
    for (int run = 0; run < runs; run++) {
        stdio_client_t client = {.capacity = 1 << 20, .next_id = 1, .sent_capacity = 1 << 16};
        client.buffer = malloc(client.capacity);
        client.sent_at = malloc(client.sent_capacity * sizeof(uint64_t));
        client.child = spawn_toolhost(toolhost, argv);
        write_all(client.child.to_child, initialize_message, sizeof(initialize_message) - 1);
        write_all(client.child.to_child, "\n", 1);
        size_t length;
        if (!stdio_next_line(&client, &length)) {
            fprintf(stderr, "mcpload: no initialize response\n");
            return 1;
        }
        write_all(client.child.to_child, initialized_message, sizeof(initialized_message) - 1);
        write_all(client.child.to_child, "\n", 1);
        stdio_phase(&client, concurrency, 2000, NULL);
        double cpu = process_cpu_us(client.child.pid);
        uint64_t elapsed = stdio_phase(&client, concurrency, calls, latencies);
        results[run] = summarize(latencies, calls, elapsed, process_cpu_us(client.child.pid) - cpu);
        stop_child(&client.child, 0);
        free(client.buffer);
        free(client.sent_at);
    }
    report("stdio", concurrency, results, runs);
    free(latencies);
    return 0;
}

// ---- spawn to initialize -----------------------------------------------------------------------------------

static int run_spawn(const char *toolhost, const char *plugins, int count) {
    char *argv[] = {(char *)toolhost, "mcp", "--plugins", (char *)plugins, NULL};
    uint64_t *times = malloc((size_t)count * sizeof(uint64_t));
    for (int i = 0; i < count; i++) {
        stdio_client_t client = {.capacity = 1 << 16, .next_id = 1};
        client.buffer = malloc(client.capacity);
        uint64_t started = now_ns();
        client.child = spawn_toolhost(toolhost, argv);
        write_all(client.child.to_child, initialize_message, sizeof(initialize_message) - 1);
        write_all(client.child.to_child, "\n", 1);
        size_t length;
        char *line = stdio_next_line(&client, &length);
        times[i] = now_ns() - started;
        if (!line || !memmem(line, length, "\"protocolVersion\"", 17)) {
            fprintf(stderr, "mcpload: no initialize response\n");
            return 1;
        }
        stop_child(&client.child, 0);
        free(client.buffer);
    }
    qsort(times, (size_t)count, sizeof(uint64_t), compare_u64);
    printf("spawn -> initialize answered, %d spawns: min %.1f ms, p50 %.1f ms, p99 %.1f ms\n", count,
        (double)times[0] / 1e6, (double)percentile(times, (size_t)count, 0.5) / 1e6,
        (double)percentile(times, (size_t)count, 0.99) / 1e6);
    free(times);
    return 0;
}

// ---- HTTP ---------------------------------------------------------------------------------------------------

typedef struct {
    int fd;
    char buffer[1 << 16];
    size_t used;
    uint64_t sent_at;
} connection_t;

static int connect_loopback(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static char session_id[128];

static void http_send(connection_t *connection, const char *body, size_t body_length) {
    char request[2048];
    int head = sprintf(request,
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Accept: application/json, text/event-stream\r\n%s%s%sContent-Length: %zu\r\n\r\n",
        session_id[0] ? "Mcp-Session-Id: " : "", session_id, session_id[0] ? "\r\n" : "", body_length);
    memcpy(request + head, body, body_length);
    connection->sent_at = now_ns();
    write_all(connection->fd, request, (size_t)head + body_length);
}

// Reads into the connection's buffer; returns 1 when a whole response (head and Content-Length body) is there.
static int http_read(connection_t *connection, int *status, char **body, size_t *body_length) {
    ssize_t count = read(connection->fd, connection->buffer + connection->used, sizeof(connection->buffer) - connection->used);
    if (count < 0 && errno == EINTR) return 0;
    if (count <= 0) {
        fprintf(stderr, "mcpload: the server closed a connection\n");
        exit(1);
    }
    connection->used += (size_t)count;
    char *end = memmem(connection->buffer, connection->used, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t head_length = (size_t)(end - connection->buffer) + 4;
    char *length_header = memmem(connection->buffer, head_length, "content-length:", 15);
    if (!length_header) length_header = memmem(connection->buffer, head_length, "Content-Length:", 15);
    size_t length = length_header ? strtoul(length_header + 15, NULL, 10) : 0;
    if (connection->used < head_length + length) return 0;
    if (connection->used > head_length + length) {
        fprintf(stderr, "mcpload: more bytes than one response\n");
        exit(1);
    }
    *status = atoi(connection->buffer + 9);
    *body = connection->buffer + head_length;
    *body_length = length;
    // The session id, when there is one (initialize).
    char *session = memmem(connection->buffer, head_length, "mcp-session-id: ", 16);
    if (!session) session = memmem(connection->buffer, head_length, "Mcp-Session-Id: ", 16);
    if (session && !session_id[0]) {
        size_t n = strcspn(session + 16, "\r");
        memcpy(session_id, session + 16, n < sizeof(session_id) - 1 ? n : sizeof(session_id) - 1);
    }
    return 1;
}

static void http_exchange(connection_t *connection, const char *body, int *status) {
    char *reply;
    size_t reply_length;
    http_send(connection, body, strlen(body));
    connection->used = 0;
    while (!http_read(connection, status, &reply, &reply_length)) {}
    connection->used = 0;
}

static uint64_t http_phase(connection_t *connections, int concurrency, size_t calls, uint64_t *latencies, uint64_t *next_id) {
    struct pollfd fds[64];
    char body[512];
    uint64_t started = now_ns();
    size_t sent = 0, done = 0;
    for (int i = 0; i < concurrency && sent < calls; i++, sent++) {
        fds[i].fd = connections[i].fd;
        fds[i].events = POLLIN;
        connections[i].used = 0;
        int length = format_call(body, (*next_id)++);
        http_send(&connections[i], body, (size_t)length);
    }
    while (done < calls) {
        if (poll(fds, (nfds_t)concurrency, -1) < 0) {
            if (errno == EINTR) continue;
            die("poll");
        }
        for (int i = 0; i < concurrency; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int status;
            char *reply;
            size_t reply_length;
            if (!http_read(&connections[i], &status, &reply, &reply_length)) continue;
            if (status != 200 || !memmem(reply, reply_length, "\"isError\":false", 15)) {
                fprintf(stderr, "mcpload: unexpected response %d: %.*s\n", status, (int)reply_length, reply);
                exit(1);
            }
            if (latencies) latencies[done] = now_ns() - connections[i].sent_at;
            done++;
            connections[i].used = 0;
            if (sent < calls) {
                int length = format_call(body, (*next_id)++);
                http_send(&connections[i], body, (size_t)length);
                sent++;
            }
        }
    }
    return now_ns() - started;
}

static int read_port(child_t *child) {
    char text[4096];
    size_t used = 0;
    const char *marker = "listening on http://127.0.0.1:";
    for (;;) {
        ssize_t count = read(child->errors, text + used, sizeof(text) - 1 - used);
        if (count <= 0) {
            fprintf(stderr, "mcpload: toolhost serve exited: %.*s\n", (int)used, text);
            exit(1);
        }
        used += (size_t)count;
        text[used] = 0;
        char *found = strstr(text, marker);
        if (found && strchr(found, ')')) return atoi(found + strlen(marker));
    }
}

static int run_http(const char *toolhost, const char *plugins, int concurrency, size_t calls, int runs) {
    char *argv[] = {(char *)toolhost, "serve", "--plugins", (char *)plugins, "--listen", "127.0.0.1:0", NULL};
    run_result_t results[64];
    uint64_t *latencies = malloc(calls * sizeof(uint64_t));
    connection_t *connections = calloc((size_t)concurrency, sizeof(connection_t));
    for (int run = 0; run < runs; run++) {
        child_t child = spawn_toolhost(toolhost, argv);
        int port = read_port(&child);
        session_id[0] = 0;
        for (int i = 0; i < concurrency; i++) connections[i].fd = connect_loopback(port);
        int status;
        http_exchange(&connections[0], initialize_message, &status);
        if (status != 200 || !session_id[0]) {
            fprintf(stderr, "mcpload: initialize failed (%d)\n", status);
            return 1;
        }
        http_exchange(&connections[0], initialized_message, &status);
        uint64_t next_id = 1;
        http_phase(connections, concurrency, 2000, NULL, &next_id);
        double cpu = process_cpu_us(child.pid);
        uint64_t elapsed = http_phase(connections, concurrency, calls, latencies, &next_id);
        results[run] = summarize(latencies, calls, elapsed, process_cpu_us(child.pid) - cpu);
        for (int i = 0; i < concurrency; i++) close(connections[i].fd);
        stop_child(&child, SIGTERM);
    }
    report("http", concurrency, results, runs);
    free(latencies);
    free(connections);
    return 0;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 7 && strcmp(argv[1], "stdio") == 0) {
        return run_stdio(argv[2], argv[3], atoi(argv[4]), strtoul(argv[5], NULL, 10), atoi(argv[6]));
    }
    if (argc >= 7 && strcmp(argv[1], "http") == 0) {
        return run_http(argv[2], argv[3], atoi(argv[4]), strtoul(argv[5], NULL, 10), atoi(argv[6]));
    }
    if (argc >= 5 && strcmp(argv[1], "spawn") == 0) {
        return run_spawn(argv[2], argv[3], atoi(argv[4]));
    }
    fprintf(stderr,
        "usage: mcpload stdio|http TOOLHOST PLUGINS CONCURRENCY CALLS RUNS\n"
        "       mcpload spawn TOOLHOST PLUGINS COUNT\n");
    return 64;
}
