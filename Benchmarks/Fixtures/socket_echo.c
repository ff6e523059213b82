/* The bare peer of the process-isolation baseline (see BENCHMARKS.md): echoes the length-prefixed frames it
   reads on fd 3, one end of a socketpair, back to the other end. It waits for each frame the way a toolhost
   worker does when calls come one at a time: it polls without blocking (yielding the core in between) for up
   to SPIN nanoseconds after answering (argv[1], default 60000, WorkerChannel.spinNanoseconds), then sleeps in
   read. It exits when the other end closes. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int fill(unsigned char *buffer, size_t length) {
    size_t got = 0;
    while (got < length) {
        ssize_t count = read(3, buffer + got, length - got);
        if (count > 0) {
            got += (size_t)count;
        } else if (count == 0 || errno != EINTR) {
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    uint64_t spin = argc > 1 ? strtoull(argv[1], NULL, 10) : 60000;
    static unsigned char buffer[1 << 16];
    for (;;) {
        struct pollfd channel = {3, POLLIN, 0};
        uint64_t end = now_ns() + spin;
        while (spin > 0 && poll(&channel, 1, 0) == 0 && now_ns() < end) sched_yield();
        if (fill(buffer, 4) != 0) return 0;
        uint32_t length = buffer[0] | buffer[1] << 8 | buffer[2] << 16 | (uint32_t)buffer[3] << 24;
        if (length > sizeof buffer - 4 || fill(buffer + 4, length) != 0) return 0;
        for (size_t sent = 0; sent < 4 + length;) {
            ssize_t count = write(3, buffer + sent, 4 + length - sent);
            if (count <= 0 && errno != EINTR) return 0;
            if (count > 0) sent += (size_t)count;
        }
    }
}
