/*
 * regexkit: POSIX extended regular expressions for agents, written only against the public SDK headers.
 *
 *   regexkit.match  whether a pattern matches a text, and where (the first match and its byte offsets)
 *
 * A pattern is untrusted input, and glibc's regcomp/regexec have no bounded cost: counted repetitions are
 * expanded at compile time (((a{1,100}){1,100}){1,100} is a million states, gigabytes of memory), and some
 * patterns match in time that grows faster than the text ((a|aa)*$ takes seconds on 16 KB). So this plugin:
 *   - bounds its inputs in the manifest's schema (pattern at most 256 bytes, text at most 64 KiB);
 *   - refuses, before regcomp, a pattern whose counted repetitions expand past MAX_EXPANSION atoms, and
 *     back-references (\1 ... \9, a GNU extension with exponential matching);
 *   - declares "isolation": "process" with memory and CPU limits, because what is left can still take seconds:
 *     in a worker process the call's timeout kills the work (in-process, a handler cannot be stopped, and it
 *     would keep a core busy after the caller got its timeout), and regcomp's memory is capped by RLIMIT_AS.
 */
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <toolhost/toolhost.h>
#include <toolhost/toolhost_json.h>

/* The most atoms a pattern may stand for once its counted repetitions are expanded. */
#define MAX_EXPANSION 2000

/* The size of the expression at *p (up to an unmatched ')' or the end), with each atom counted once per copy its
 * counted repetition makes. Saturates at MAX_EXPANSION + 1. Sets *backref when it meets \1 ... \9. */
static long expansion(const char **p, const char *end, int depth, int *backref) {
    long total = 0;
    while (*p < end && **p != ')') {
        if (**p == '|') { (*p)++; continue; }
        long atom = 1;
        if (**p == '(') {
            (*p)++;
            atom = depth < 64 ? expansion(p, end, depth + 1, backref) : MAX_EXPANSION + 1;
            if (*p < end && **p == ')') (*p)++;
            if (atom == 0) atom = 1;
        } else if (**p == '[') {
            (*p)++;
            if (*p < end && **p == '^') (*p)++;
            if (*p < end && **p == ']') (*p)++;
            while (*p < end && **p != ']') {
                if (**p == '[' && *p + 1 < end && ((*p)[1] == ':' || (*p)[1] == '=' || (*p)[1] == '.')) {
                    char close = (*p)[1];
                    *p += 2;
                    while (*p + 1 < end && !(**p == close && (*p)[1] == ']')) (*p)++;
                    *p += 2;
                } else {
                    (*p)++;
                }
            }
            if (*p < end) (*p)++;
        } else if (**p == '\\') {
            (*p)++;
            if (*p < end && **p >= '1' && **p <= '9') *backref = 1;
            if (*p < end) (*p)++;
        } else {
            (*p)++;
        }
        /* Quantifiers after the atom: {m}, {m,}, {m,n} make copies; *, + and ? do not (a loop, not copies). */
        while (*p < end && (**p == '*' || **p == '+' || **p == '?' || **p == '{')) {
            if (**p != '{') { (*p)++; continue; }
            const char *q = *p + 1;
            long low = 0, high = -1;
            while (q < end && *q >= '0' && *q <= '9') { if (low <= MAX_EXPANSION) low = low * 10 + (*q - '0'); q++; }
            if (q < end && *q == ',') {
                q++;
                if (q < end && *q >= '0' && *q <= '9') {
                    high = 0;
                    while (q < end && *q >= '0' && *q <= '9') { if (high <= MAX_EXPANSION) high = high * 10 + (*q - '0'); q++; }
                }
            } else {
                high = low;
            }
            if (q < end && *q == '}') q++;
            *p = q;
            long copies = high >= 0 ? high : low + 1;
            if (copies < 1) copies = 1;
            atom = atom > MAX_EXPANSION / copies ? MAX_EXPANSION + 1 : atom * copies;
        }
        total += atom;
        if (total > MAX_EXPANSION) total = MAX_EXPANSION + 1;
    }
    return total;
}

static int32_t match(const toolhost_call *call, const char *args, size_t len) {
    /* The schema caps the pattern at 256 characters (at most 1024 bytes of UTF-8); the text is unescaped into
     * memory of its own, as long as its JSON text (the unescaped string is always shorter). */
    char source[1025];
    size_t pattern_len, text_len;
    const char *raw;
    size_t raw_len;
    char *text = NULL;
    if (toolhost_json_get_string(args, len, "pattern", source, sizeof source, &pattern_len) != TOOLHOST_JSON_OK
        || toolhost_json_get_raw(args, len, "text", &raw, &raw_len) != TOOLHOST_JSON_OK
        || !(text = malloc(raw_len))
        || toolhost_json_unescape(raw, raw_len, text, raw_len, &text_len) != TOOLHOST_JSON_OK) {
        free(text);
        return toolhost_json_fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "\"pattern\" and \"text\" must be strings");
    }
    const char *cursor = source;
    int backref = 0;
    long size = 0;
    while (cursor < source + pattern_len) {  /* an unmatched ')' ends expansion(); go on past it */
        size += expansion(&cursor, source + pattern_len, 0, &backref);
        if (cursor < source + pattern_len) cursor++;
    }
    if (backref || size > MAX_EXPANSION) {
        char message[200];
        if (backref) {
            snprintf(message, sizeof message,
                     "back-references (\\1 ... \\9) are not supported: their matching time can grow exponentially");
        } else {
            snprintf(message, sizeof message,
                     "the pattern's counted repetitions expand to more than %d atoms; use fewer or smaller {m,n}",
                     MAX_EXPANSION);
        }
        free(text);
        return toolhost_json_fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, message);
    }
    int ignore_case = 0;
    if (toolhost_json_get_bool(args, len, "ignoreCase", &ignore_case) == TOOLHOST_JSON_WRONG_TYPE) {
        free(text);
        return toolhost_json_fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "\"ignoreCase\" must be true or false");
    }
    int flags = REG_EXTENDED | (ignore_case ? REG_ICASE : 0);
    regex_t re;
    int rc = regcomp(&re, source, flags);
    if (rc != 0) {
        char why[256], message[320];
        regerror(rc, &re, why, sizeof why);
        snprintf(message, sizeof message, "invalid POSIX extended regular expression: %s", why);
        free(text);
        return toolhost_json_fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, message);
    }
    regmatch_t m;
    int found = regexec(&re, text, 1, &m, 0) == 0, failed;
    if (found) {
        failed = toolhost_json_write_raw(call, "{\"matches\":true,\"start\":") || toolhost_json_write_int(call, m.rm_so)
                 || toolhost_json_write_raw(call, ",\"end\":") || toolhost_json_write_int(call, m.rm_eo)
                 || toolhost_json_write_raw(call, ",\"match\":")
                 || toolhost_json_write_string(call, text + m.rm_so, (size_t)(m.rm_eo - m.rm_so))
                 || toolhost_json_write_raw(call, "}");
    } else {
        failed = toolhost_json_write_raw(call, "{\"matches\":false}");
    }
    regfree(&re);
    free(text);
    return failed ? TOOLHOST_ERR_FAILED : TOOLHOST_OK;
}

static int32_t regexkit_init(const toolhost_host_api *host, const toolhost_registrar *reg, void **state) {
    (void)state;
    toolhost_tool_desc desc = {sizeof(toolhost_tool_desc), TOOLHOST_TOOL_THREAD_SAFE, "match",
                               "Test a POSIX extended regular expression against a text.", match, NULL};
    if (reg->register_tool(reg, &desc) != 0) {
        host->log(host, NULL, TOOLHOST_LOG_ERROR, "registration failed", 19);
        return TOOLHOST_ERR_FAILED;
    }
    return TOOLHOST_OK;
}

static const toolhost_plugin_desc regexkit = {
    sizeof(toolhost_plugin_desc), TOOLHOST_ABI_MAJOR, TOOLHOST_ABI_MINOR, 0, "regexkit", "1.0.0", regexkit_init, NULL};

TOOLHOST_EXPORT const toolhost_plugin_desc *toolhost_plugin_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_major;
    (void)host_minor;
    return &regexkit;
}
