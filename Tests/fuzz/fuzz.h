/*
 * fuzz.h - what the libFuzzer harnesses share: invariants that abort() (so libFuzzer records
 * the input as a crash), a check that a status is one the header documents, NUL-terminated
 * copies of the input, a scratch directory, and a small strict JSON validator (RFC 8259, UTF-8,
 * at most 512 levels, as botsession.h promises) to compare the library's verdicts with.
 * Only the public header is used, so the harnesses survive rewrites of the engine.
 */
#ifndef BOTSESSION_FUZZ_H
#define BOTSESSION_FUZZ_H

#define _GNU_SOURCE
#include <botsession.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_CHECK(cond, ...)                                                              \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "\n%s:%d: invariant failed: %s\n  ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, "\n  botsession_last_error(): %s\n", botsession_last_error());  \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* A pointer no call may leave in an out-parameter it failed to fill: failures set NULL. */
#define UNSET ((void *)(uintptr_t)1)

static inline int fuzz_known_status(int rc) {
    return rc >= 0 && strcmp(botsession_status_name(rc), "BOTSESSION_UNKNOWN") != 0;
}

/* Checks what every call promises (a documented status; a message on failure) and that the
 * status is one of the `n` given; returns it. */
static inline int fuzz_status(const char *call, int rc, int n, ...) {
    FUZZ_CHECK(fuzz_known_status(rc), "%s returned %d, no status", call, rc);
    FUZZ_CHECK(rc == BOTSESSION_OK || botsession_last_error()[0] != 0,
               "%s failed with %s and an empty botsession_last_error()", call, botsession_status_name(rc));
    va_list ap;
    va_start(ap, n);
    int allowed = 0;
    for (int i = 0; i < n; i++) allowed |= va_arg(ap, int) == rc;
    va_end(ap);
    FUZZ_CHECK(allowed, "%s returned %s, which it should not here", call, botsession_status_name(rc));
    return rc;
}
#define STATUS(call, ...) \
    fuzz_status(#call, (call), sizeof((int[]){__VA_ARGS__}) / sizeof(int), __VA_ARGS__)

/* The input as a C string (the API sees text up to the first NUL byte). */
static inline char *fuzz_text(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

static inline int streq(const char *a, const char *b) {
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* A scratch directory for this fuzzer process: $FUZZ_TMPDIR (scripts/fuzz.sh removes it), else
 * a new one under /tmp. */
static inline const char *fuzz_dir(void) {
    static char dir[512];
    if (!dir[0]) {
        const char *env = getenv("FUZZ_TMPDIR");
        if (env && *env) snprintf(dir, sizeof dir, "%s", env);
        else if (!mkdtemp(strcpy(dir, "/tmp/botsession-fuzz-XXXXXX"))) abort();
    }
    return dir;
}

/* ---- A strict JSON validator, the oracle the library's verdicts are compared with. ---- */

/* The length of the UTF-8 sequence at s (1-4), or 0 when it is invalid (overlong, surrogate,
 * beyond U+10FFFF, truncated). */
static inline int utf8_length(const unsigned char *s) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    int n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || c > 0xF4) return 0;
    for (int i = 1; i < n; i++) if ((s[i] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && s[1] < 0xA0) return 0;   /* overlong */
    if (c == 0xED && s[1] >= 0xA0) return 0;  /* UTF-16 surrogate */
    if (c == 0xF0 && s[1] < 0x90) return 0;   /* overlong */
    if (c == 0xF4 && s[1] >= 0x90) return 0;  /* beyond U+10FFFF */
    return n;
}

static inline int utf8_valid(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = utf8_length(p);
        if (!n) return 0;
        p += n;
    }
    return 1;
}

static inline const char *json_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

static inline const char *json_string(const char *p) {   /* p at '"'; returns past the closing '"' */
    for (p++;;) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c < 0x20) return NULL;
        if (c == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++) if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i]) return NULL;
                p += 5;
            } else if (*p && strchr("\"\\/bfnrt", *p)) p++;
            else return NULL;
            continue;
        }
        int n = utf8_length((const unsigned char *)p);
        if (!n) return NULL;
        p += n;
    }
}

static inline const char *json_number(const char *p) {
    if (*p == '-') p++;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (*p >= '0' && *p <= '9') p++;
    else return NULL;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9')) return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    return p;
}

/* 1 when `s` is one JSON text (any value, whitespace around it) nested at most 512 levels. */
static inline int json_valid(const char *s) {
    char stack[513];          /* '{' or '[' per open container */
    int depth = 0;
    const char *p = json_ws(s);
    for (;;) {
        /* a value */
        if (*p == '{' || *p == '[') {
            if (depth == 512) return 0;
            stack[depth++] = *p++;
            p = json_ws(p);
            if (*p == (stack[depth - 1] == '{' ? '}' : ']')) { p++; depth--; goto after_value; }
            if (stack[depth - 1] == '{') {
                if (*p != '"' || !(p = json_string(p))) return 0;
                p = json_ws(p);
                if (*p++ != ':') return 0;
                p = json_ws(p);
            }
            continue;
        }
        if (*p == '"') { if (!(p = json_string(p))) return 0; }
        else if (!strncmp(p, "true", 4)) p += 4;
        else if (!strncmp(p, "false", 5)) p += 5;
        else if (!strncmp(p, "null", 4)) p += 4;
        else if (!(p = json_number(p))) return 0;
    after_value:
        p = json_ws(p);
        if (depth == 0) return *p == 0;
        if (*p == ',') {
            p = json_ws(p + 1);
            if (stack[depth - 1] == '{') {
                if (*p != '"' || !(p = json_string(p))) return 0;
                p = json_ws(p);
                if (*p++ != ':') return 0;
                p = json_ws(p);
            }
            continue;
        }
        if (*p == (stack[depth - 1] == '{' ? '}' : ']')) { p++; depth--; goto after_value; }
        return 0;
    }
}

/* 1 when `s` is the JSON text null, whitespace around it. */
static inline int json_is_null(const char *s) {
    const char *p = json_ws(s);
    return strncmp(p, "null", 4) == 0 && *json_ws(p + 4) == 0;
}

#endif
