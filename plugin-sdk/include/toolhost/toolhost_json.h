/*
 * toolhost_json.h: small JSON helpers for plugins written in C, header-only (every function is static inline,
 * so including it adds nothing a plugin does not call, and nothing is exported).
 *
 * Reading: the host hands a JSON handler its arguments as one JSON object that already passed the tool's
 * inputSchema and was re-encoded by the host (canonical, valid UTF-8), so these readers only find top-level
 * members of that object; they are not a general parser for untrusted text.
 * Writing: toolhost_json_buf collects a result (or any text) and toolhost_json_finish hands it to the host in one
 * write_result, so the host copies it once. Memory is malloc'd by the plugin and freed by the plugin: nothing
 * crosses the boundary.
 *
 * Thread safety: every function here is reentrant; a buffer belongs to one call.
 */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toolhost/toolhost.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A growable byte buffer. Zero-initialise it ({0}); free(buf.data) when done (toolhost_json_finish does). After an
 * allocation failure `failed` is set and further writes are ignored. */
typedef struct toolhost_json_buf {
    char *data;
    size_t len, cap;
    int failed;
} toolhost_json_buf;

/* Appends n bytes. */
static inline void toolhost_json_put(toolhost_json_buf *b, const char *s, size_t n) {
    if (b->failed || n == 0) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n) cap *= 2;
        char *grown = (char *)realloc(b->data, cap);
        if (!grown) { b->failed = 1; return; }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

/* Appends a NUL-terminated string (without its NUL). */
static inline void toolhost_json_put_str(toolhost_json_buf *b, const char *s) { toolhost_json_put(b, s, strlen(s)); }

/* Appends n bytes of UTF-8 as a JSON string literal, quotes included. */
static inline void toolhost_json_put_string(toolhost_json_buf *b, const char *s, size_t n) {
    toolhost_json_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') { toolhost_json_put(b, "\\", 1); toolhost_json_put(b, &s[i], 1); }
        else if (c == '\n') toolhost_json_put_str(b, "\\n");
        else if (c == '\r') toolhost_json_put_str(b, "\\r");
        else if (c == '\t') toolhost_json_put_str(b, "\\t");
        else if (c < 0x20) { char esc[8]; snprintf(esc, sizeof esc, "\\u%04x", c); toolhost_json_put_str(b, esc); }
        else toolhost_json_put(b, &s[i], 1);
    }
    toolhost_json_put(b, "\"", 1);
}

/* Hands the buffer to the host as the call's result and frees it. Returns the status for the handler to return:
 * TOOLHOST_OK, or TOOLHOST_ERR_FAILED when memory ran out or the host refused the result (over its size limit). */
static inline int32_t toolhost_json_finish(const toolhost_call *call, toolhost_json_buf *b) {
    if (b->failed) {
        free(b->data);
        call->host->write_error(call, "out of memory", 13);
        return TOOLHOST_ERR_FAILED;
    }
    int32_t rc = call->host->write_result(call, b->data ? b->data : "null", b->data ? b->len : 4);
    free(b->data);
    b->data = NULL;
    return rc == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
}

/* Writes `message` as the call's error and returns `status` (for `return toolhost_json_fail(call, ..., "...")`). */
static inline int32_t toolhost_json_fail(const toolhost_call *call, int32_t status, const char *message) {
    call->host->write_error(call, message, strlen(message));
    return status;
}

/* ---- reading top-level members of the arguments object ---- */

static inline const char *toolhost_json_skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Skips one JSON value; returns the position after it, or NULL. Iterative: no recursion on deep nesting. */
static inline const char *toolhost_json_skip_value(const char *p, const char *end) {
    p = toolhost_json_skip_ws(p, end);
    if (p >= end) return NULL;
    size_t depth = 0;
    do {
        if (*p == '"') {
            for (p++; p < end && *p != '"'; p++) {
                if (*p == '\\') p++;
            }
            if (p >= end) return NULL;
            p++;
        } else if (*p == '{' || *p == '[') {
            depth++;
            p++;
        } else if (*p == '}' || *p == ']') {
            if (depth == 0) return NULL;
            depth--;
            p++;
        } else if (depth == 0) {
            while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n') p++;
            return p;
        } else {
            p++;
        }
    } while (depth > 0 && p < end);
    return depth == 0 ? p : NULL;
}

/* Appends code point cp as UTF-8. */
static inline void toolhost_json_put_utf8(toolhost_json_buf *b, uint32_t cp) {
    char out[4];
    size_t n;
    if (cp < 0x80) { out[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
    }
    toolhost_json_put(b, out, n);
}

static inline int toolhost_json_hex4(const char *p, uint32_t *out) {
    uint32_t v = 0;
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

/* Decodes the JSON string literal at p into b, NUL-terminated (b->len excludes the NUL). Returns 1 on success. */
static inline int toolhost_json_decode_string(const char *p, const char *end, toolhost_json_buf *b) {
    if (p >= end || *p != '"') return 0;
    for (p++; p < end; p++) {
        if (*p == '"') { toolhost_json_put(b, "", 1); if (!b->failed) b->len--; return !b->failed; }
        if (*p != '\\') { toolhost_json_put(b, p, 1); continue; }
        if (++p >= end) return 0;
        switch (*p) {
        case 'n': toolhost_json_put(b, "\n", 1); break;
        case 't': toolhost_json_put(b, "\t", 1); break;
        case 'r': toolhost_json_put(b, "\r", 1); break;
        case 'b': toolhost_json_put(b, "\b", 1); break;
        case 'f': toolhost_json_put(b, "\f", 1); break;
        case 'u': {
            uint32_t cp, low;
            if (end - p < 5 || !toolhost_json_hex4(p + 1, &cp)) return 0;
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 7 && p[1] == '\\' && p[2] == 'u'
                && toolhost_json_hex4(p + 3, &low)) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                p += 6;
            }
            toolhost_json_put_utf8(b, cp);
            break;
        }
        default: toolhost_json_put(b, p, 1);
        }
    }
    return 0;
}

/* Finds member `key` of the top-level object; returns a pointer to its value, or NULL when it is absent. */
static inline const char *toolhost_json_member(const char *json, size_t len, const char *key) {
    const char *p = json, *end = json + len;
    size_t key_len = strlen(key);
    p = toolhost_json_skip_ws(p, end);
    if (p >= end || *p != '{') return NULL;
    p++;
    while (p < end) {
        p = toolhost_json_skip_ws(p, end);
        if (p < end && *p == '}') return NULL;
        if (p >= end || *p != '"') return NULL;
        const char *name = p + 1;
        const char *after = toolhost_json_skip_value(p, end);
        if (!after) return NULL;
        int match = (size_t)(after - 1 - name) == key_len && memcmp(name, key, key_len) == 0;
        p = toolhost_json_skip_ws(after, end);
        if (p >= end || *p != ':') return NULL;
        p = toolhost_json_skip_ws(p + 1, end);
        if (match) return p;
        p = toolhost_json_skip_value(p, end);
        if (!p) return NULL;
        p = toolhost_json_skip_ws(p, end);
        if (p < end && *p == ',') p++;
    }
    return NULL;
}

/* Reads string member `key` into b (decoded, NUL-terminated); returns 1 when it is present and a string. */
static inline int toolhost_json_string_member(const char *json, size_t len, const char *key, toolhost_json_buf *b) {
    const char *value = toolhost_json_member(json, len, key);
    return value && toolhost_json_decode_string(value, json + len, b);
}

/* Reads boolean member `key`; `fallback` when it is absent. */
static inline int toolhost_json_bool_member(const char *json, size_t len, const char *key, int fallback) {
    const char *value = toolhost_json_member(json, len, key);
    if (!value) return fallback;
    return (size_t)(json + len - value) >= 4 && memcmp(value, "true", 4) == 0;
}

#ifdef __cplusplus
}
#endif
