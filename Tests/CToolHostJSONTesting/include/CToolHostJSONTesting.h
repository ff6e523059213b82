/*
 * Tests only: the plugin SDK's C JSON helpers, imported into Swift so the property tests can call them directly
 * (they are static inline; this target compiles them as C99 with warnings as errors).
 */
#pragma once

#include <toolhost/toolhost_json.h>

/* The status's name, for test messages. */
const char *toolhost_json_testing_status_name(toolhost_json_status status);
