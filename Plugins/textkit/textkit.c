/*
 * textkit: text tools for agents, written only against the public toolhost.h.
 *
 *   textkit.stats       bytes, characters, words, lines and sentences of a text
 *   textkit.sha256      SHA-256 of a text's UTF-8 bytes, in hex
 *   textkit.slugify     a URL slug ("Hello, World!" -> "hello-world")
 *   textkit.levenshtein the edit distance of two texts: a plain C function registered with its
 *                       signature, so the host converts the arguments (no JSON handler)
 *
 * Arguments arrive validated against the manifest's input schema and in the host's canonical form; the SDK's
 * JSON helpers (toolhost/toolhost_json.h) read them and write the results.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <toolhost/toolhost.h>
#include <toolhost/toolhost_json.h>

/* String member `key`, unescaped into memory of its own (free it), or NULL when it is absent or not a string.
 * The unescaped string is always shorter than its JSON text, so the text's length is enough room. */
static char *string_arg(const char *args, size_t len, const char *key, size_t *text_len) {
    const char *raw;
    size_t raw_len;
    if (toolhost_json_get_raw(args, len, key, &raw, &raw_len) != TOOLHOST_JSON_OK) return NULL;
    char *text = malloc(raw_len);
    if (text && toolhost_json_unescape(raw, raw_len, text, raw_len, text_len) == TOOLHOST_JSON_OK) return text;
    free(text);
    return NULL;
}

/* ---- textkit.stats ---- */

static int32_t stats(const toolhost_call *call, const char *args, size_t len) {
    size_t n;
    char *text = string_arg(args, len, "text", &n);
    if (!text) return toolhost_json_fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "\"text\" must be a string");
    size_t chars = 0, words = 0, lines = n ? 1 : 0, sentences = 0;
    int in_word = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c & 0xC0) != 0x80) chars++;
        if (c == '\n') lines++;
        if (c == '.' || c == '!' || c == '?') {
            if (i + 1 == n || text[i + 1] == ' ' || text[i + 1] == '\n') sentences++;
        }
        int space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
        if (!space && !in_word) words++;
        in_word = !space;
    }
    if (n && text[n - 1] == '\n') lines--;
    free(text);
    int failed = toolhost_json_write_raw(call, "{\"bytes\":") || toolhost_json_write_int(call, (int64_t)n)
                 || toolhost_json_write_raw(call, ",\"characters\":") || toolhost_json_write_int(call, (int64_t)chars)
                 || toolhost_json_write_raw(call, ",\"words\":") || toolhost_json_write_int(call, (int64_t)words)
                 || toolhost_json_write_raw(call, ",\"lines\":") || toolhost_json_write_int(call, (int64_t)lines)
                 || toolhost_json_write_raw(call, ",\"sentences\":") || toolhost_json_write_int(call, (int64_t)sentences)
                 || toolhost_json_write_raw(call, "}");
    return failed ? TOOLHOST_ERR_FAILED : TOOLHOST_OK;
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
    size_t n;
    char *text = string_arg(args, len, "text", &n);
    if (!text) return toolhost_json_fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "\"text\" must be a string");
    char hex[65];
    sha256((const unsigned char *)text, n, hex);
    free(text);
    int failed = toolhost_json_write_raw(call, "{\"sha256\":") || toolhost_json_write_string(call, hex, 64)
                 || toolhost_json_write_raw(call, "}");
    return failed ? TOOLHOST_ERR_FAILED : TOOLHOST_OK;
}

/* ---- textkit.slugify ---- */

static int32_t slugify(const toolhost_call *call, const char *args, size_t len) {
    size_t n, sep_len = 1;
    char *text = string_arg(args, len, "text", &n);
    if (!text) return toolhost_json_fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "\"text\" must be a string");
    char *sep = string_arg(args, len, "separator", &sep_len);
    const char *separator = sep ? sep : "-";
    if (!sep) sep_len = 1;
    /* At most one separator per input byte, before the byte it precedes. */
    char *slug = n > SIZE_MAX / (sep_len + 1) ? NULL : malloc(n * (sep_len + 1) + 1);
    if (!slug) {
        free(text); free(sep);
        return toolhost_json_fail(call, TOOLHOST_ERR_FAILED, "out of memory");
    }
    size_t slug_len = 0;
    int pending = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) {
            if (pending && slug_len) {
                memcpy(slug + slug_len, separator, sep_len);
                slug_len += sep_len;
            }
            pending = 0;
            slug[slug_len++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        } else {
            pending = 1; /* punctuation, spaces and non-ASCII letters separate words */
        }
    }
    int failed = toolhost_json_write_raw(call, "{\"slug\":") || toolhost_json_write_string(call, slug, slug_len)
                 || toolhost_json_write_raw(call, "}");
    free(text); free(sep); free(slug);
    return failed ? TOOLHOST_ERR_FAILED : TOOLHOST_OK;
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
