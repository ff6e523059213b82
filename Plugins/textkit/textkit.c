/*
 * textkit: text tools for agents, written only against the public toolhost.h.
 *
 *   textkit.stats       bytes, characters, words, lines and sentences of a text
 *   textkit.sha256      SHA-256 of a text's UTF-8 bytes, in hex
 *   textkit.slugify     a URL slug ("Hello, World!" -> "hello-world")
 *   textkit.regex_test  whether a POSIX extended regular expression matches, and where
 *   textkit.levenshtein the edit distance of two texts: a plain C function registered with its
 *                       signature, so the host converts the arguments (no JSON handler)
 *
 * Arguments arrive validated against the manifest's input schema, so the small
 * JSON reader below only has to find top-level members of an object.
 */
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <toolhost/toolhost.h>

/* ---- a growable output buffer, written to the host in one piece ---- */

typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} buf;

static void buf_put(buf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) { b->failed = 1; return; }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static void buf_str(buf *b, const char *s) { buf_put(b, s, strlen(s)); }

/* Writes a JSON string literal. */
static void buf_json_string(buf *b, const char *s, size_t n) {
    buf_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') { buf_put(b, "\\", 1); buf_put(b, (const char *)&s[i], 1); }
        else if (c == '\n') buf_str(b, "\\n");
        else if (c == '\r') buf_str(b, "\\r");
        else if (c == '\t') buf_str(b, "\\t");
        else if (c < 0x20) { char esc[8]; snprintf(esc, sizeof esc, "\\u%04x", c); buf_str(b, esc); }
        else buf_put(b, (const char *)&s[i], 1);
    }
    buf_put(b, "\"", 1);
}

static int32_t finish(const toolhost_call *call, buf *b) {
    if (b->failed) {
        free(b->data);
        call->host->write_error(call, "out of memory", 13);
        return TOOLHOST_ERR_FAILED;
    }
    int32_t rc = call->host->write_result(call, b->data, b->len);
    free(b->data);
    return rc == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
}

static int32_t fail(const toolhost_call *call, int32_t status, const char *message) {
    call->host->write_error(call, message, strlen(message));
    return status;
}

/* ---- reading top-level members of the arguments object ---- */

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Skips one JSON value; returns the position after it, or NULL. */
static const char *skip_value(const char *p, const char *end) {
    p = skip_ws(p, end);
    if (p >= end) return NULL;
    if (*p == '"') {
        for (p++; p < end; p++) {
            if (*p == '\\') p++;
            else if (*p == '"') return p + 1;
        }
        return NULL;
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; p < end; p++) {
            if (*p == '"') { p = skip_value(p, end); if (!p) return NULL; p--; }
            else if (*p == '{' || *p == '[') depth++;
            else if (*p == '}' || *p == ']') { if (--depth == 0) return p + 1; }
        }
        return NULL;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n') p++;
    return p;
}

static void put_utf8(buf *b, uint32_t cp) {
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
    buf_put(b, out, n);
}

static int hex4(const char *p, uint32_t *out) {
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

/* Decodes the JSON string at p into b (NUL-terminated). Returns 1 on success. */
static int decode_string(const char *p, const char *end, buf *b) {
    if (p >= end || *p != '"') return 0;
    for (p++; p < end; p++) {
        if (*p == '"') { buf_put(b, "", 1); b->len--; return !b->failed; }
        if (*p != '\\') { buf_put(b, p, 1); continue; }
        if (++p >= end) return 0;
        switch (*p) {
        case 'n': buf_put(b, "\n", 1); break;
        case 't': buf_put(b, "\t", 1); break;
        case 'r': buf_put(b, "\r", 1); break;
        case 'b': buf_put(b, "\b", 1); break;
        case 'f': buf_put(b, "\f", 1); break;
        case 'u': {
            uint32_t cp, low;
            if (end - p < 5 || !hex4(p + 1, &cp)) return 0;
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 7 && p[1] == '\\' && p[2] == 'u' && hex4(p + 3, &low)) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                p += 6;
            }
            put_utf8(b, cp);
            break;
        }
        default: buf_put(b, p, 1);
        }
    }
    return 0;
}

/* Finds member `key` of the top-level object; returns a pointer to its value or NULL. */
static const char *member(const char *json, size_t len, const char *key) {
    const char *p = json, *end = json + len;
    size_t key_len = strlen(key);
    p = skip_ws(p, end);
    if (p >= end || *p != '{') return NULL;
    p++;
    while (p < end) {
        p = skip_ws(p, end);
        if (p < end && *p == '}') return NULL;
        if (p >= end || *p != '"') return NULL;
        const char *name = p + 1;
        const char *after = skip_value(p, end);
        if (!after) return NULL;
        int match = (size_t)(after - 1 - name) == key_len && memcmp(name, key, key_len) == 0;
        p = skip_ws(after, end);
        if (p >= end || *p != ':') return NULL;
        p = skip_ws(p + 1, end);
        if (match) return p;
        p = skip_value(p, end);
        if (!p) return NULL;
        p = skip_ws(p, end);
        if (p < end && *p == ',') p++;
    }
    return NULL;
}

/* Reads a string member into b; returns 1 if present and a string. */
static int string_member(const char *json, size_t len, const char *key, buf *b) {
    const char *value = member(json, len, key);
    return value && decode_string(value, json + len, b);
}

static int bool_member(const char *json, size_t len, const char *key, int fallback) {
    const char *value = member(json, len, key);
    if (!value) return fallback;
    return (size_t)(json + len - value) >= 4 && memcmp(value, "true", 4) == 0;
}

/* ---- textkit.stats ---- */

static int32_t stats(const toolhost_call *call, const char *args, size_t len) {
    buf text = {0};
    if (!string_member(args, len, "text", &text)) { free(text.data); return fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "\"text\" must be a string"); }
    size_t chars = 0, words = 0, lines = text.len ? 1 : 0, sentences = 0;
    int in_word = 0;
    for (size_t i = 0; i < text.len; i++) {
        unsigned char c = (unsigned char)text.data[i];
        if ((c & 0xC0) != 0x80) chars++;
        if (c == '\n') lines++;
        if (c == '.' || c == '!' || c == '?') {
            if (i + 1 == text.len || text.data[i + 1] == ' ' || text.data[i + 1] == '\n') sentences++;
        }
        int space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
        if (!space && !in_word) words++;
        in_word = !space;
    }
    if (text.len && text.data[text.len - 1] == '\n') lines--;
    char out[256];
    int n = snprintf(out, sizeof out, "{\"bytes\":%zu,\"characters\":%zu,\"words\":%zu,\"lines\":%zu,\"sentences\":%zu}",
                     text.len, chars, words, lines, sentences);
    free(text.data);
    return call->host->write_result(call, out, (size_t)n) == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
}

/* ---- textkit.sha256 (FIPS 180-4) ---- */

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static void sha256(const unsigned char *data, size_t len, char hex[65]) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t i = 0;
    for (; i + 64 <= len; i += 64) sha256_block(h, data + i);
    unsigned char tail[128] = {0};
    size_t rest = len - i;
    memcpy(tail, data + i, rest);
    tail[rest] = 0x80;
    size_t blocks = rest + 9 > 64 ? 2 : 1;
    uint64_t bits = (uint64_t)len * 8;
    for (int j = 0; j < 8; j++) tail[blocks * 64 - 1 - j] = (unsigned char)(bits >> (8 * j));
    for (size_t j = 0; j < blocks; j++) sha256_block(h, tail + 64 * j);
    for (int j = 0; j < 8; j++) snprintf(hex + 8 * j, 9, "%08x", h[j]);
}

static int32_t sha256_tool(const toolhost_call *call, const char *args, size_t len) {
    buf text = {0};
    if (!string_member(args, len, "text", &text)) { free(text.data); return fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "\"text\" must be a string"); }
    char hex[65];
    sha256((const unsigned char *)(text.data ? text.data : ""), text.len, hex);
    free(text.data);
    char out[96];
    int n = snprintf(out, sizeof out, "{\"sha256\":\"%s\"}", hex);
    return call->host->write_result(call, out, (size_t)n) == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
}

/* ---- textkit.slugify ---- */

static int32_t slugify(const toolhost_call *call, const char *args, size_t len) {
    buf text = {0}, sep = {0}, slug = {0};
    if (!string_member(args, len, "text", &text)) { free(text.data); return fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "\"text\" must be a string"); }
    if (!string_member(args, len, "separator", &sep)) { free(sep.data); sep = (buf){0}; buf_str(&sep, "-"); }
    int pending = 0;
    for (size_t i = 0; i < text.len; i++) {
        unsigned char c = (unsigned char)text.data[i];
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) {
            if (pending && slug.len) buf_put(&slug, sep.data, sep.len);
            pending = 0;
            char lower = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            buf_put(&slug, &lower, 1);
        } else {
            pending = 1; /* punctuation, spaces and non-ASCII letters separate words */
        }
    }
    buf out = {0};
    buf_str(&out, "{\"slug\":");
    buf_json_string(&out, slug.data ? slug.data : "", slug.len);
    buf_str(&out, "}");
    free(text.data); free(sep.data); free(slug.data);
    return finish(call, &out);
}

/* ---- textkit.regex_test ---- */

static int32_t regex_test(const toolhost_call *call, const char *args, size_t len) {
    buf pattern = {0}, text = {0};
    if (!string_member(args, len, "pattern", &pattern) || !string_member(args, len, "text", &text)) {
        free(pattern.data); free(text.data);
        return fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "\"pattern\" and \"text\" must be strings");
    }
    int flags = REG_EXTENDED | (bool_member(args, len, "ignoreCase", 0) ? REG_ICASE : 0);
    regex_t re;
    int rc = regcomp(&re, pattern.data ? pattern.data : "", flags);
    if (rc != 0) {
        char why[256], message[320];
        regerror(rc, &re, why, sizeof why);
        snprintf(message, sizeof message, "invalid POSIX extended regular expression: %s", why);
        free(pattern.data); free(text.data);
        return fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, message);
    }
    regmatch_t m;
    int found = regexec(&re, text.data ? text.data : "", 1, &m, 0) == 0;
    buf out = {0};
    if (found) {
        char head[96];
        snprintf(head, sizeof head, "{\"matches\":true,\"start\":%lld,\"end\":%lld,\"match\":",
                 (long long)m.rm_so, (long long)m.rm_eo);
        buf_str(&out, head);
        buf_json_string(&out, text.data + m.rm_so, (size_t)(m.rm_eo - m.rm_so));
        buf_str(&out, "}");
    } else {
        buf_str(&out, "{\"matches\":false}");
    }
    regfree(&re);
    free(pattern.data); free(text.data);
    return finish(call, &out);
}

/* ---- textkit.levenshtein: a typed function, no JSON in sight ---- */

/* Decodes UTF-8 into code points; returns the count. Invalid bytes count as one code point each. */
static size_t decode_utf8(const char *s, uint32_t *out) {
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp = *p;
        int extra = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;
        p++;
        for (int i = 0; i < extra && (*p & 0xC0) == 0x80; i++) cp = (cp << 6) | (*p++ & 0x3F);
        out[n++] = cp;
    }
    return n;
}

static uint32_t levenshtein(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    uint32_t *ca = malloc((la + 1) * sizeof *ca), *cb = malloc((lb + 1) * sizeof *cb);
    uint32_t *row = malloc((lb + 1) * sizeof *row);
    if (!ca || !cb || !row) { free(ca); free(cb); free(row); return UINT32_MAX; }
    la = decode_utf8(a, ca);
    lb = decode_utf8(b, cb);
    for (size_t j = 0; j <= lb; j++) row[j] = (uint32_t)j;
    for (size_t i = 1; i <= la; i++) {
        uint32_t diagonal = row[0];
        row[0] = (uint32_t)i;
        for (size_t j = 1; j <= lb; j++) {
            uint32_t above = row[j];
            uint32_t best = diagonal + (ca[i - 1] != cb[j - 1]);
            if (above + 1 < best) best = above + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diagonal = above;
        }
    }
    uint32_t distance = row[lb];
    free(ca); free(cb); free(row);
    return distance;
}

/* ---- registration ---- */

static int32_t textkit_init(const toolhost_host_api *host, const toolhost_registrar *reg, void **state) {
    (void)state;
    static const struct { const char *name, *description; toolhost_handler_fn handler; } tools[] = {
        {"stats", "Count bytes, characters, words, lines and sentences of a text.", stats},
        {"sha256", "SHA-256 of a text's UTF-8 bytes, in lower-case hex.", sha256_tool},
        {"slugify", "Turn a text into a URL slug.", slugify},
        {"regex_test", "Test a POSIX extended regular expression against a text.", regex_test},
    };
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        toolhost_tool_desc desc = {sizeof(toolhost_tool_desc), TOOLHOST_TOOL_THREAD_SAFE, tools[i].name,
                                   tools[i].description, tools[i].handler, NULL};
        if (reg->register_tool(reg, &desc) != 0) {
            host->log(host, NULL, TOOLHOST_LOG_ERROR, "registration failed", 19);
            return TOOLHOST_ERR_FAILED;
        }
    }
    /* A host older than ABI 1.1 has no register_function: check the registrar's size first. */
    if (reg->struct_size < sizeof(toolhost_registrar)) {
        host->log(host, NULL, TOOLHOST_LOG_ERROR, "textkit needs a host with ABI 1.1", 33);
        return TOOLHOST_ERR_FAILED;
    }
    toolhost_function_desc distance = {sizeof(toolhost_function_desc), TOOLHOST_TOOL_THREAD_SAFE, "levenshtein",
                                       "The edit distance between two texts.", "uint32 (string a, string b)",
                                       (void (*)(void))levenshtein, NULL};
    if (reg->register_function(reg, &distance) != 0) {
        host->log(host, NULL, TOOLHOST_LOG_ERROR, "registration failed", 19);
        return TOOLHOST_ERR_FAILED;
    }
    return TOOLHOST_OK;
}

static const toolhost_plugin_desc textkit = {
    sizeof(toolhost_plugin_desc), TOOLHOST_ABI_MAJOR, TOOLHOST_ABI_MINOR, 0, "textkit", "1.0.0", textkit_init, NULL};

TOOLHOST_EXPORT const toolhost_plugin_desc *toolhost_plugin_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_major;
    (void)host_minor;
    return &textkit;
}
