#pragma once

#include <pthread.h>

/// Names the calling thread (shown by `top -H` and debuggers); at most 15 bytes are kept.
void toolhost_shim_set_thread_name(const char *name);
