/*
 * toolhost_json.h: JSON helpers for plugins written in C or C++. C99, also valid C++; header-only (every
 * function is static inline, so nothing is exported); no allocation: every output goes to a buffer the caller
 * gives, or through the host's write_result.
 *
 * Reading. A handler's arguments are one JSON object that passed the tool's inputSchema and was re-encoded by
 * the host in its canonical form (valid UTF-8, no whitespace, keys sorted, strings escaping only '"', '\' and
 * control characters). The readers find a member of an object by its (unescaped) name and read it:
 *
 *   toolhost_json_get_raw     the member's value as it stands in the text (any type; use it for nested objects:
 *                             the readers work on any object's text, not only the top level)
 *   toolhost_json_get_string  a string, unescaped into a caller's buffer, NUL-terminated (the length is also
 *                             returned, since a string may contain U+0000)
 *   toolhost_json_get_int     an integer (int64_t); 3.0 and 3e0 are the integer 3
 *   toolhost_json_get_number  any number, as a double
 *   toolhost_json_get_bool    true or false, as 1 or 0
 *
 * Each returns TOOLHOST_JSON_OK or the reason it could not (absent, another type, too long for the buffer, out
 * of range, not JSON). They never read past `len` and never recurse, so any input is safe, but they are not a
 * validating parser: give them the host's arguments or values taken from them.
 * A string's unescaped length is always less than the length of its JSON text, so a buffer of the raw value's
 * size (from toolhost_json_get_raw) always fits it.
 *
 * Writing. The writers send JSON text through call->host->write_result (pieces are concatenated by the host):
 *
 *   toolhost_json_write_raw      text that is already JSON ("{\"count\":"), NUL-terminated
 *   toolhost_json_write_string   a string literal, quoted and escaped
 *   toolhost_json_write_escaped  the escaped content of a string without the quotes (to build one from pieces)
 *   toolhost_json_write_int, toolhost_json_write_number, toolhost_json_write_bool
 *   toolhost_json_escape         a string literal into a caller's buffer instead (snprintf-like)
 *
 * Each returns 0, or -1 when the host refused the result (the call is over, or the result passed the tool's
 * output limit): the handler should then return TOOLHOST_ERR_FAILED. They chain: `if (a || b || c) return ...`.
 * Strings are escaped as the host's canonical writer escapes them; other bytes, including invalid UTF-8, are
 * written as they are (the host refuses a result that is not valid UTF-8).
 *
 * Threads: every function is reentrant and keeps no state; the writers are [call-thread], as write_result is.
 */
#pragma once

#include <locale.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toolhost/toolhost.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a reader returns. */
typedef enum toolhost_json_status {
    /* The member was found and read. */
    TOOLHOST_JSON_OK = 0,
    /* The object has no member of that name (or the text is not an object). */
    TOOLHOST_JSON_MISSING = 1,
    /* The member has another type (for get_int: a number that is not an integer). */
    TOOLHOST_JSON_WRONG_TYPE = 2,
    /* The string (with its NUL) does not fit the buffer; *out_len, if given, is the length it needs. */
    TOOLHOST_JSON_TOO_LONG = 3,
    /* The integer does not fit int64_t. */
    TOOLHOST_JSON_OUT_OF_RANGE = 4,
    /* The text is not JSON where the reader had to look. */
    TOOLHOST_JSON_MALFORMED = 5
} toolhost_json_status;

/* ---- internals (names ending in _impl are not part of the API) ---- */

static inline const char *toolhost_json_ws_impl(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* The position after the string literal starting at p (at its '"'), or NULL. */
static inline const char *toolhost_json_skip_string_impl(const char *p, const char *end) {
    for (p++; p < end; p++) {
        if (*p == '"') return p + 1;
        if (*p == '\\') p++;
    }
    return NULL;
}

/* The position after the value starting at p, or NULL. Iterative, so deep nesting cannot overflow the stack. */
static inline const char *toolhost_json_skip_value_impl(const char *p, const char *end) {
    size_t depth = 0;
    if (p >= end) return NULL;
    do {
        char c = *p;
        if (c == '"') {
            p = toolhost_json_skip_string_impl(p, end);
            if (!p) return NULL;
        } else if (c == '{' || c == '[') {
            depth++;
            p++;
        } else if (c == '}' || c == ']') {
            if (depth == 0) return NULL;
            depth--;
            p++;
        } else if (depth > 0) {
            p++;
        } else {
            const char *start = p;
            while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' && *p != '\n'
                   && *p != '\r' && *p != ':')
                p++;
            return p > start ? p : NULL;
        }
    } while (depth > 0 && p < end);
    return depth == 0 ? p : NULL;
}

static inline int toolhost_json_hex4_impl(const char *p, const char *end, uint32_t *out) {
    uint32_t v = 0;
    if (end - p < 4) return 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

/* Decodes one character of a string literal's content at *pp into out (1 to 4 bytes) and advances *pp.
 * Returns the number of bytes, or -1 on a bad escape. A lone surrogate becomes U+FFFD. */
static inline int toolhost_json_next_char_impl(const char **pp, const char *end, char out[4]) {
    const char *p = *pp;
    uint32_t cp;
    if (*p != '\\') {
        out[0] = *p;
        *pp = p + 1;
        return 1;
    }
    if (++p >= end) return -1;
    switch (*p) {
    case '"': case '\\': case '/': out[0] = *p; *pp = p + 1; return 1;
    case 'b': out[0] = '\b'; *pp = p + 1; return 1;
    case 'f': out[0] = '\f'; *pp = p + 1; return 1;
    case 'n': out[0] = '\n'; *pp = p + 1; return 1;
    case 'r': out[0] = '\r'; *pp = p + 1; return 1;
    case 't': out[0] = '\t'; *pp = p + 1; return 1;
    case 'u': break;
    default: return -1;
    }
    if (!toolhost_json_hex4_impl(p + 1, end, &cp)) return -1;
    p += 5;
    if (cp >= 0xD800 && cp < 0xDC00) {
        uint32_t low;
        if (end - p >= 6 && p[0] == '\\' && p[1] == 'u' && toolhost_json_hex4_impl(p + 2, end, &low) && low >= 0xDC00
            && low < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            p += 6;
        } else {
            cp = 0xFFFD;
        }
    } else if (cp >= 0xDC00 && cp < 0xE000) {
        cp = 0xFFFD;
    }
    *pp = p;
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* 1 when the string literal [p, end) (quotes included) decodes to exactly key[0..key_len). */
static inline int toolhost_json_name_is_impl(const char *p, const char *end, const char *key, size_t key_len) {
    size_t matched = 0;
    const char *last = end - 1; /* the closing quote */
    for (p++; p < last;) {
        char bytes[4];
        int n = toolhost_json_next_char_impl(&p, last, bytes);
        if (n < 0 || key_len - matched < (size_t)n || memcmp(key + matched, bytes, (size_t)n) != 0) return 0;
        matched += (size_t)n;
    }
    return matched == key_len;
}

/* Checks JSON number syntax: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; sets *integral when there is no
 * fraction or exponent. */
static inline int toolhost_json_number_syntax_impl(const char *p, size_t n, int *integral) {
    size_t i = 0;
    *integral = 1;
    if (i < n && p[i] == '-') i++;
    if (i >= n) return 0;
    if (p[i] == '0') i++;
    else if (p[i] >= '1' && p[i] <= '9') while (i < n && p[i] >= '0' && p[i] <= '9') i++;
    else return 0;
    if (i < n && p[i] == '.') {
        *integral = 0;
        if (++i >= n || p[i] < '0' || p[i] > '9') return 0;
        while (i < n && p[i] >= '0' && p[i] <= '9') i++;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        *integral = 0;
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-')) i++;
        if (i >= n || p[i] < '0' || p[i] > '9') return 0;
        while (i < n && p[i] >= '0' && p[i] <= '9') i++;
    }
    return i == n;
}

/* Converts a JSON number of n bytes with strtod, whatever the C locale's decimal point. */
static inline toolhost_json_status toolhost_json_strtod_impl(const char *p, size_t n, double *out) {
    char copy[64];
    int integral;
    if (!toolhost_json_number_syntax_impl(p, n, &integral)) return TOOLHOST_JSON_WRONG_TYPE;
    if (n >= sizeof copy) return TOOLHOST_JSON_TOO_LONG;
    memcpy(copy, p, n);
    copy[n] = '\0';
    char point = localeconv()->decimal_point[0];
    if (point != '.' && point != '\0') {
        char *dot = strchr(copy, '.');
        if (dot) *dot = point;
    }
    *out = strtod(copy, NULL);
    return TOOLHOST_JSON_OK;
}

/* ---- reading ---- */

/*
 * Finds member `key` (NUL-terminated, unescaped) of the JSON object json[0..len) and sets *value / *value_len to
 * its value's text (pointing into json). Returns TOOLHOST_JSON_OK, TOOLHOST_JSON_MISSING, or
 * TOOLHOST_JSON_MALFORMED. `value` and `value_len` must not be NULL.
 */
static inline toolhost_json_status toolhost_json_get_raw(const char *json, size_t len, const char *key,
                                                         const char **value, size_t *value_len) {
    const char *p = json, *end = json + len;
    size_t key_len = strlen(key);
    p = toolhost_json_ws_impl(p, end);
    if (p >= end || *p != '{') return TOOLHOST_JSON_MISSING;
    p = toolhost_json_ws_impl(p + 1, end);
    if (p < end && *p == '}') return TOOLHOST_JSON_MISSING;
    while (p < end) {
        if (*p != '"') return TOOLHOST_JSON_MALFORMED;
        const char *name = p;
        p = toolhost_json_skip_string_impl(p, end);
        if (!p) return TOOLHOST_JSON_MALFORMED;
        int match = toolhost_json_name_is_impl(name, p, key, key_len);
        p = toolhost_json_ws_impl(p, end);
        if (p >= end || *p != ':') return TOOLHOST_JSON_MALFORMED;
        p = toolhost_json_ws_impl(p + 1, end);
        const char *start = p;
        p = toolhost_json_skip_value_impl(p, end);
        if (!p) return TOOLHOST_JSON_MALFORMED;
        if (match) {
            *value = start;
            *value_len = (size_t)(p - start);
            return TOOLHOST_JSON_OK;
        }
        p = toolhost_json_ws_impl(p, end);
        if (p < end && *p == '}') return TOOLHOST_JSON_MISSING;
        if (p >= end || *p != ',') return TOOLHOST_JSON_MALFORMED;
        p = toolhost_json_ws_impl(p + 1, end);
    }
    return TOOLHOST_JSON_MALFORMED;
}

/*
 * Unescapes the JSON string literal literal[0..literal_len) (quotes included, as get_raw returns it) into
 * out[0..cap), NUL-terminated; *out_len (may be NULL) is its length without the NUL. TOOLHOST_JSON_TOO_LONG
 * when it does not fit (out is then "" and *out_len the length needed), TOOLHOST_JSON_WRONG_TYPE when the text
 * is not a string, TOOLHOST_JSON_MALFORMED on a bad escape.
 */
static inline toolhost_json_status toolhost_json_unescape(const char *literal, size_t literal_len, char *out,
                                                          size_t cap, size_t *out_len) {
    const char *p = literal, *end = literal + literal_len;
    size_t n = 0;
    if (p >= end || *p != '"') return TOOLHOST_JSON_WRONG_TYPE;
    if (literal_len < 2 || end[-1] != '"' || toolhost_json_skip_string_impl(p, end) != end)
        return TOOLHOST_JSON_MALFORMED;
    end--; /* the closing quote */
    for (p++; p < end;) {
        char bytes[4];
        int k = toolhost_json_next_char_impl(&p, end, bytes);
        if (k < 0) return TOOLHOST_JSON_MALFORMED;
        if (n + (size_t)k < cap) memcpy(out + n, bytes, (size_t)k);
        n += (size_t)k;
    }
    if (out_len) *out_len = n;
    if (n >= cap) {
        if (cap > 0) out[0] = '\0';
        return TOOLHOST_JSON_TOO_LONG;
    }
    out[n] = '\0';
    return TOOLHOST_JSON_OK;
}

/* Reads string member `key` into out[0..cap) (see toolhost_json_unescape). `out_len` may be NULL. */
static inline toolhost_json_status toolhost_json_get_string(const char *json, size_t len, const char *key, char *out,
                                                            size_t cap, size_t *out_len) {
    const char *value;
    size_t value_len;
    toolhost_json_status status = toolhost_json_get_raw(json, len, key, &value, &value_len);
    return status != TOOLHOST_JSON_OK ? status : toolhost_json_unescape(value, value_len, out, cap, out_len);
}

/* Reads number member `key` as a double. */
static inline toolhost_json_status toolhost_json_get_number(const char *json, size_t len, const char *key,
                                                            double *out) {
    const char *value;
    size_t value_len;
    toolhost_json_status status = toolhost_json_get_raw(json, len, key, &value, &value_len);
    return status != TOOLHOST_JSON_OK ? status : toolhost_json_strtod_impl(value, value_len, out);
}

/* Reads integer member `key`. A number with a fraction or exponent is read if its value is an integer (3.0). */
static inline toolhost_json_status toolhost_json_get_int(const char *json, size_t len, const char *key,
                                                         int64_t *out) {
    const char *value;
    size_t value_len;
    int integral;
    toolhost_json_status status = toolhost_json_get_raw(json, len, key, &value, &value_len);
    if (status != TOOLHOST_JSON_OK) return status;
    if (!toolhost_json_number_syntax_impl(value, value_len, &integral)) return TOOLHOST_JSON_WRONG_TYPE;
    if (!integral) {
        double d;
        status = toolhost_json_strtod_impl(value, value_len, &d);
        if (status != TOOLHOST_JSON_OK) return status;
        if (d - d != 0 || d < -9223372036854775808.0 || d >= 9223372036854775808.0) return TOOLHOST_JSON_OUT_OF_RANGE;
        if ((double)(int64_t)d != d) return TOOLHOST_JSON_WRONG_TYPE;
        *out = (int64_t)d;
        return TOOLHOST_JSON_OK;
    }
    int negative = value[0] == '-';
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, magnitude = 0;
    for (size_t i = negative ? 1 : 0; i < value_len; i++) {
        uint64_t digit = (uint64_t)(value[i] - '0');
        if (magnitude > (limit - digit) / 10) return TOOLHOST_JSON_OUT_OF_RANGE;
        magnitude = magnitude * 10 + digit;
    }
    *out = negative ? (magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)magnitude) : (int64_t)magnitude;
    return TOOLHOST_JSON_OK;
}

/* Reads boolean member `key` as 1 (true) or 0 (false). */
static inline toolhost_json_status toolhost_json_get_bool(const char *json, size_t len, const char *key, int *out) {
    const char *value;
    size_t value_len;
    toolhost_json_status status = toolhost_json_get_raw(json, len, key, &value, &value_len);
    if (status != TOOLHOST_JSON_OK) return status;
    if (value_len == 4 && memcmp(value, "true", 4) == 0) *out = 1;
    else if (value_len == 5 && memcmp(value, "false", 5) == 0) *out = 0;
    else return TOOLHOST_JSON_WRONG_TYPE;
    return TOOLHOST_JSON_OK;
}

/* ---- writing ---- */

/* The escape of byte c as the host's canonical writer writes it, into out (2 or 6 bytes), or 0 when c is
 * written as it is. */
static inline int toolhost_json_escape_byte_impl(unsigned char c, char out[6]) {
    static const char hex[] = "0123456789abcdef";
    if (c >= 0x20 && c != '"' && c != '\\') return 0;
    out[0] = '\\';
    switch (c) {
    case '"': out[1] = '"'; return 2;
    case '\\': out[1] = '\\'; return 2;
    case '\b': out[1] = 'b'; return 2;
    case '\f': out[1] = 'f'; return 2;
    case '\n': out[1] = 'n'; return 2;
    case '\r': out[1] = 'r'; return 2;
    case '\t': out[1] = 't'; return 2;
    default:
        out[1] = 'u'; out[2] = '0'; out[3] = '0';
        out[4] = hex[c >> 4]; out[5] = hex[c & 0xF];
        return 6;
    }
}

static inline void toolhost_json_emit_impl(char *out, size_t cap, size_t *used, const char *bytes, size_t count) {
    for (size_t k = 0; k < count; k++, (*used)++)
        if (*used + 1 < cap) out[*used] = bytes[k];
}

/*
 * Writes s[0..n) as a JSON string literal, quotes included, into out[0..cap), NUL-terminated when cap > 0, like
 * snprintf: returns the literal's full length; it fitted when that is less than cap.
 */
static inline size_t toolhost_json_escape(const char *s, size_t n, char *out, size_t cap) {
    size_t used = 0;
    toolhost_json_emit_impl(out, cap, &used, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        char escaped[6];
        int k = toolhost_json_escape_byte_impl((unsigned char)s[i], escaped);
        if (k) toolhost_json_emit_impl(out, cap, &used, escaped, (size_t)k);
        else toolhost_json_emit_impl(out, cap, &used, s + i, 1);
    }
    toolhost_json_emit_impl(out, cap, &used, "\"", 1);
    if (cap > 0) out[used < cap ? used : cap - 1] = '\0';
    return used;
}

/* Writes n bytes of JSON text as they are. Returns 0 or -1. */
static inline int toolhost_json_write_bytes_impl(const toolhost_call *call, const char *text, size_t n) {
    return n == 0 || call->host->write_result(call, text, n) == 0 ? 0 : -1;
}

/* Writes NUL-terminated JSON text as it is. Returns 0 or -1. */
static inline int toolhost_json_write_raw(const toolhost_call *call, const char *json) {
    return toolhost_json_write_bytes_impl(call, json, strlen(json));
}

/* Writes s[0..n) escaped, without quotes: runs of plain bytes go out as they are, escapes through a small buffer.
 * Returns 0 or -1. */
static inline int toolhost_json_write_escaped(const toolhost_call *call, const char *s, size_t n) {
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        char escaped[6];
        int k = toolhost_json_escape_byte_impl((unsigned char)s[i], escaped);
        if (!k) continue;
        if (toolhost_json_write_bytes_impl(call, s + run, i - run) != 0
            || toolhost_json_write_bytes_impl(call, escaped, (size_t)k) != 0)
            return -1;
        run = i + 1;
    }
    return toolhost_json_write_bytes_impl(call, s + run, n - run);
}

/* Writes s[0..n) as a JSON string literal. Returns 0 or -1. */
static inline int toolhost_json_write_string(const toolhost_call *call, const char *s, size_t n) {
    return toolhost_json_write_bytes_impl(call, "\"", 1) || toolhost_json_write_escaped(call, s, n)
                   || toolhost_json_write_bytes_impl(call, "\"", 1)
               ? -1
               : 0;
}

/* Writes an integer. Returns 0 or -1. */
static inline int toolhost_json_write_int(const toolhost_call *call, int64_t value) {
    char digits[24];
    size_t at = sizeof digits;
    uint64_t magnitude = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    do {
        digits[--at] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude > 0);
    if (value < 0) digits[--at] = '-';
    return toolhost_json_write_bytes_impl(call, digits + at, sizeof digits - at);
}

/* Writes a double so that it reads back equal (17 significant digits); NaN and infinities, which JSON cannot
 * write, as null. Returns 0 or -1. */
static inline int toolhost_json_write_number(const toolhost_call *call, double value) {
    char text[40];
    if (value != value || value - value != 0) return toolhost_json_write_bytes_impl(call, "null", 4);
    int n = snprintf(text, sizeof text, "%.17g", value);
    if (n <= 0 || (size_t)n >= sizeof text) return -1;
    char point = localeconv()->decimal_point[0];
    if (point != '.') {
        char *found = strchr(text, point);
        if (found) *found = '.';
    }
    return toolhost_json_write_bytes_impl(call, text, (size_t)n);
}

/* Writes true (value != 0) or false. Returns 0 or -1. */
static inline int toolhost_json_write_bool(const toolhost_call *call, int value) {
    return value ? toolhost_json_write_bytes_impl(call, "true", 4) : toolhost_json_write_bytes_impl(call, "false", 5);
}

/* Writes `message` (NUL-terminated) as the call's error and returns `status`, for
 * `return toolhost_json_fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "\"text\" must be a string");`. */
static inline int32_t toolhost_json_fail(const toolhost_call *call, int32_t status, const char *message) {
    call->host->write_error(call, message, strlen(message));
    return status;
}

#ifdef __cplusplus
}
#endif
