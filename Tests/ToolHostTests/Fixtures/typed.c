/*
 * typed: a manifest-only fixture (no toolhost entry, no JSON): plain C functions that the host calls
 * through libffi from signatures declared in manifest.json.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT int8_t echo_int8(int8_t x) { return x; }
EXPORT int16_t echo_int16(int16_t x) { return x; }
EXPORT int32_t echo_int32(int32_t x) { return x; }
EXPORT int64_t echo_int64(int64_t x) { return x; }
EXPORT uint8_t echo_uint8(uint8_t x) { return x; }
EXPORT uint16_t echo_uint16(uint16_t x) { return x; }
EXPORT uint32_t echo_uint32(uint32_t x) { return x; }
EXPORT uint64_t echo_uint64(uint64_t x) { return x; }
EXPORT float echo_float(float x) { return x; }
EXPORT double echo_double(double x) { return x; }
EXPORT bool echo_bool(bool x) { return x; }
EXPORT bool negate(bool x) { return !x; }
EXPORT double divide(double a, double b) { return a / b; }
EXPORT const char *echo_string(const char *s) { return s; }
EXPORT const char *null_string(void) { return NULL; }

/* Mixed arguments, to prove each lands in the right register or stack slot. */
EXPORT double mixed(int8_t a, uint16_t b, int32_t c, int64_t d, float e, double f, bool g, uint64_t h) {
    return (double)a + (double)b * 10 + (double)c * 100 + (double)d * 1000 + (double)e + f + (g ? 0.5 : 0) +
           (double)h * 1e6;
}

/* Length in the high 32 bits, byte sum in the low 32. */
EXPORT uint64_t buffer_stats(const uint8_t *data, size_t length) {
    uint64_t sum = 0;
    for (size_t i = 0; i < length; i++) sum += data[i];
    return ((uint64_t)length << 32) | (sum & 0xFFFFFFFFu);
}

static int frees;
EXPORT char *upper(const char *s) {
    char *copy = malloc(strlen(s) + 1);
    for (size_t i = 0; s[i]; i++) copy[i] = (char)toupper((unsigned char)s[i]);
    copy[strlen(s)] = 0;
    return copy;
}
EXPORT void typed_free(void *p) {
    frees++;
    free(p);
}
EXPORT int32_t free_count(void) { return frees; }

static int touched;
EXPORT void touch(void) { touched++; }
EXPORT int32_t touches(void) { return touched; }

#ifdef TYPED_INSTANCE
/* Makes each instance a different file, so each test has its own statics. */
#define TYPED_STRING2(x) #x
#define TYPED_STRING(x) TYPED_STRING2(x)
__attribute__((used)) static const char typed_instance[] = TYPED_STRING(TYPED_INSTANCE);
#endif
