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
/// Returns the child's pid, or -1 with errno set.
pid_t toolhost_shim_spawn_worker(const char *path, char *const argv[], char *const envp[], int channel_fd,
                                 uint64_t address_space_bytes, uint64_t cpu_seconds);

/// Ignores SIGPIPE in this process (a dead worker must give EPIPE, not kill the host).
void toolhost_shim_ignore_sigpipe(void);

/// A descriptor that becomes readable when process `pid` exits (pidfd_open), or -1 where unsupported.
int toolhost_shim_pidfd_open(pid_t pid);
