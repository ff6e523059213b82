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
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Async-signal-safe helpers for the child. */
static size_t format_unsigned(char *out, unsigned long value) {
    char digits[24];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    for (size_t i = 0; i < n; i++) out[i] = digits[n - 1 - i];
    return n;
}

static int write_file(const char *path, const char *text, size_t length) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    ssize_t written = write(fd, text, length);
    int error = written == (ssize_t)length ? 0 : (written < 0 ? errno : EIO);
    close(fd);
    return error;
}

/* "ID ID 1": the caller's id mapped onto itself in the new user namespace. */
static int write_identity_map(const char *path, unsigned long id) {
    char line[64];
    size_t n = format_unsigned(line, id);
    line[n++] = ' ';
    n += format_unsigned(line + n, id);
    line[n++] = ' ';
    line[n++] = '1';
    line[n++] = '\n';
    return write_file(path, line, n);
}

/* Enters a new network namespace: 0 directly, -1 through a new user namespace, else the errno of the refusal. */
static int enter_new_network_namespace(void) {
    if (unshare(CLONE_NEWNET) == 0) return 0;
    int direct = errno;
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) return direct == EPERM ? errno : direct;
    /* Without the maps the worker would show as nobody in its namespace; its access to files is the same. */
    write_file("/proc/self/setgroups", "deny", 4);
    write_identity_map("/proc/self/uid_map", uid);
    write_identity_map("/proc/self/gid_map", gid);
    return -1;
}

/* Writes the outcome over the value of the caller's TOOLHOST_NETWORK= entry (see the header). */
static void report_network(char *const envp[], int outcome) {
    static const char key[] = "TOOLHOST_NETWORK=";
    for (size_t i = 0; envp[i] != NULL; i++) {
        if (strncmp(envp[i], key, sizeof key - 1) != 0) continue;
        char *value = envp[i] + sizeof key - 1;
        size_t room = strlen(value);
        char text[32];
        size_t n;
        if (outcome == 0) {
            n = 3;
            memcpy(text, "cut", n);
        } else if (outcome == -1) {
            n = 10;
            memcpy(text, "cut userns", n);
        } else {
            memcpy(text, "errno ", 6);
            n = 6 + format_unsigned(text + 6, (unsigned long)outcome);
        }
        if (n < room) {
            memcpy(value, text, n);
            value[n] = 0;
        }
        return;
    }
}

pid_t toolhost_shim_spawn_worker(const char *path, char *const argv[], char *const envp[], int channel_fd,
                                 uint64_t address_space_bytes, uint64_t cpu_seconds, int cut_network) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) return pid; /* parent, or -1 */

    /* Child: async-signal-safe calls only. A process group of its own, so that killing the group also
     * kills any child the plugin forked. */
    setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) _exit(126);
    if (getppid() != parent) _exit(126); /* the parent died before the prctl */
    if (cut_network) report_network(envp, enter_new_network_namespace());
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

/* The worker sandbox (see the header). */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>

#if defined(__x86_64__)
#define TOOLHOST_FILTER_ARCH AUDIT_ARCH_X86_64
#define TOOLHOST_FILTER_ARCH_NAME "x86_64"
#elif defined(__aarch64__)
#define TOOLHOST_FILTER_ARCH AUDIT_ARCH_AARCH64
#define TOOLHOST_FILTER_ARCH_NAME "aarch64"
#endif

int toolhost_shim_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 ? 0 : errno; }

int toolhost_shim_no_new_privs(void) { return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); }

const char *toolhost_shim_syscall_filter_arch(void) {
#ifdef TOOLHOST_FILTER_ARCH
    return TOOLHOST_FILTER_ARCH_NAME;
#else
    return NULL;
#endif
}

#ifdef TOOLHOST_FILTER_ARCH
/* Denied: a tool computes; none of these is part of computing. Absent numbers (per architecture) are skipped. */
static const long denied_syscalls[] = {
    SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_mount, SYS_umount2, SYS_pivot_root,
    SYS_swapon, SYS_swapoff, SYS_reboot, SYS_init_module, SYS_finit_module, SYS_delete_module, SYS_kexec_load,
#ifdef SYS_kexec_file_load
    SYS_kexec_file_load,
#endif
    SYS_bpf, SYS_perf_event_open, SYS_keyctl, SYS_add_key, SYS_request_key, SYS_unshare, SYS_setns, SYS_acct,
    SYS_settimeofday, SYS_clock_settime,
#ifdef SYS_iopl
    SYS_iopl,
#endif
#ifdef SYS_ioperm
    SYS_ioperm,
#endif
    SYS_syslog,
};
#define DENIED_COUNT (sizeof denied_syscalls / sizeof denied_syscalls[0])
#endif

int toolhost_shim_install_syscall_filter(void) {
#ifdef TOOLHOST_FILTER_ARCH
    /* arch check (3), x32 check on x86_64 (2), load nr (1), one jump per denied call, allow, deny. */
    struct sock_filter program[8 + DENIED_COUNT];
    size_t n = 0;
    program[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    program[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TOOLHOST_FILTER_ARCH, 1, 0);
    /* Another ABI (i386 on x86_64, arm32 on aarch64) has other numbers: refuse it outright rather than let a
     * 32-bit call slip past a list of 64-bit numbers. Tools are built for the host's own ABI. */
    program[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
    program[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
    /* x32 calls share the x86_64 arch value with bit 30 set in nr: refuse them too. */
    program[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
    program[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
#endif
    for (size_t i = 0; i < DENIED_COUNT; i++) {
        /* On a match jump to the deny at the end: past the remaining jumps and the allow. */
        unsigned char to_deny = (unsigned char)(DENIED_COUNT - i - 1 + 1);
        program[n++] =
            (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)denied_syscalls[i], to_deny, 0);
    }
    program[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    program[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
    struct sock_fprog prog = {(unsigned short)n, program};
#ifdef SYS_seccomp
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return errno;
#endif
    /* No seccomp(2) or no TSYNC: the prctl form covers the calling thread and the threads it starts later. */
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0 ? 0 : errno;
#else
    return ENOTSUP;
#endif
}
