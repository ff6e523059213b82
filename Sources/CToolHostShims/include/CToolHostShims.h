#pragma once

#include <pthread.h>

/// Names the calling thread (shown by `top -H` and debuggers); at most 15 bytes are kept.
void toolhost_shim_set_thread_name(const char *name);

#include <stdint.h>
#include <sys/types.h>

/// Starts a worker process: fork, then in the child only async-signal-safe calls before execve.
///
/// In the child: `channel_fd` becomes fd 3; stdin is /dev/null; stdout and stderr both go to the parent's
/// stderr (so a worker can never write into a protocol stream on the parent's stdout); every other
/// descriptor is closed; the child is killed when the parent dies (PR_SET_PDEATHSIG); the address-space
/// and CPU-time limits are applied when non-zero; the signal mask and SIGPIPE are reset.
///
/// When `cut_network` is non-zero the child enters a new, empty network namespace: unshare(CLONE_NEWNET), or,
/// where that is refused (no CAP_SYS_ADMIN), unshare(CLONE_NEWUSER | CLONE_NEWNET) with the caller's uid and gid
/// mapped onto themselves. The outcome is written, NUL-terminated, over the value of the envp entry
/// `TOOLHOST_NETWORK=` (which the caller reserves, at least 16 bytes of value): `cut`, `cut userns`, or
/// `errno N` (the errno of the refused unshare; the child keeps the network). No entry: nothing is written.
///
/// Returns the child's pid, or -1 with errno set.
pid_t toolhost_shim_spawn_worker(const char *path, char *const argv[], char *const envp[], int channel_fd,
                                 uint64_t address_space_bytes, uint64_t cpu_seconds, int cut_network);

/// Ignores SIGPIPE in this process (a dead worker must give EPIPE, not kill the host).
void toolhost_shim_ignore_sigpipe(void);

/// A descriptor that becomes readable when process `pid` exits (pidfd_open), or -1 where unsupported.
int toolhost_shim_pidfd_open(pid_t pid);

/// Sets PR_SET_NO_NEW_PRIVS on the calling process (inherited by its children, never cleared): execve can no
/// longer grant privileges (setuid bits, file capabilities).
///
/// Returns 0, or an errno value.
int toolhost_shim_set_no_new_privs(void);

/// Reads PR_GET_NO_NEW_PRIVS: 1 when set, 0 when not, -1 on error.
int toolhost_shim_no_new_privs(void);

/// Installs the worker's seccomp-BPF filter on every thread of the calling process (SECCOMP_FILTER_FLAG_TSYNC,
/// falling back to PR_SET_SECCOMP, which covers the calling thread and the threads it starts later, where the
/// kernel refuses that flag). The filter
/// fails with EPERM the system calls a tool never needs (ptrace, process_vm_readv/writev, mount, umount2,
/// pivot_root, swapon/off, reboot, kernel modules, kexec, bpf, perf_event_open, the key ring, unshare, setns,
/// acct, setting the clock, iopl/ioperm, syslog) and allows every other one. Needs no_new_privs (or
/// CAP_SYS_ADMIN) first.
///
/// Returns 0; ENOTSUP when this architecture has no filter (nothing was installed); or the errno of the
/// refused prctl/seccomp call (nothing was installed).
int toolhost_shim_install_syscall_filter(void);

/// The architecture the filter covers ("x86_64", "aarch64"), or NULL when there is none (static storage).
const char *toolhost_shim_syscall_filter_arch(void);
