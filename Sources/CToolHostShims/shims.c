#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>

#include "CToolHostShims.h"

void toolhost_shim_set_thread_name(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof truncated - 1);
    truncated[sizeof truncated - 1] = 0;
    pthread_setname_np(pthread_self(), truncated);
}

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

pid_t toolhost_shim_spawn_worker(const char *path, char *const argv[], char *const envp[], int channel_fd,
                                 uint64_t address_space_bytes, uint64_t cpu_seconds) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) return pid; /* parent, or -1 */

    /* Child: async-signal-safe calls only. A process group of its own, so that killing the group also
     * kills any child the plugin forked. */
    setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) _exit(126);
    if (getppid() != parent) _exit(126); /* the parent died before the prctl */
    if (channel_fd == 3) {
        int flags = fcntl(3, F_GETFD);
        if (flags >= 0) fcntl(3, F_SETFD, flags & ~FD_CLOEXEC);
    } else if (dup2(channel_fd, 3) < 0) {
        _exit(126);
    }
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0 && null_fd != 0) {
        dup2(null_fd, 0);
        close(null_fd);
    }
    dup2(2, 1);
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 4u, ~0u, 0) != 0)
#endif
    {
        long max = sysconf(_SC_OPEN_MAX);
        for (long fd = 4; fd < (max > 0 ? max : 1024); fd++) close((int)fd);
    }
    if (address_space_bytes > 0) {
        struct rlimit limit = {address_space_bytes, address_space_bytes};
        setrlimit(RLIMIT_AS, &limit);
    }
    if (cpu_seconds > 0) {
        struct rlimit limit = {cpu_seconds, cpu_seconds + 1};
        setrlimit(RLIMIT_CPU, &limit);
    }
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    signal(SIGPIPE, SIG_DFL);
    execve(path, argv, envp);
    _exit(127);
}

void toolhost_shim_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

int toolhost_shim_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    long fd = syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) {
        fcntl((int)fd, F_SETFD, FD_CLOEXEC);
        return (int)fd;
    }
#endif
    (void)pid;
    return -1;
}
