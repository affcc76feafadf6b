/* A small strict JSON parser (RFC 8259) for untrusted input: safetensors
 * headers, and JSON lines that tests validate.
 *
 * Strict means: one value, optionally surrounded by whitespace; no comments,
 * no trailing commas, no NaN/Infinity, no leading zeros, no control
 * characters or invalid UTF-8 inside strings, no lone surrogates in \u
 * escapes, and no duplicate keys within one object (a duplicate tensor name
 * in a model file would otherwise be ambiguous). Limits on input length,
 * nesting depth and number of values bound memory and stack use.
 *
 * The parsed document is one allocation-owning object (ef_json_t); the
 * values it hands out (const ef_json_value_t *) live as long as it does.
 * Strings are decoded (escapes resolved) into NUL-terminated UTF-8; a string
 * holding "\u0000" keeps its length in str_len (the NUL terminator then
 * ends it early for C string functions: use str_len when that matters).
 *
 * Thread-safety: a document is immutable after parsing; concurrent readers
 * are fine. */
#ifndef EF_UTIL_JSON_H
#define EF_UTIL_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef enum ef_json_type {
    EF_JSON_NULL = 0,
    EF_JSON_FALSE,
    EF_JSON_TRUE,
    EF_JSON_NUMBER,
    EF_JSON_STRING,
    EF_JSON_ARRAY,
    EF_JSON_OBJECT,
} ef_json_type_t;

typedef struct ef_json_value ef_json_value_t;

/* One value. Arrays and objects list their children through `child` (the
 * first) and each child's `next`, in document order; `count` is their
 * number. Object members carry their key in `key`/`key_len`. */
struct ef_json_value {
    ef_json_type_t type;
    const char *key;              /* object member: decoded key; else NULL */
    size_t key_len;
    const char *str;              /* string: decoded text; number: raw token */
    size_t str_len;
    double num;                   /* number: value (strtod of the token) */
    size_t count;                 /* array/object: number of children */
    const ef_json_value_t *child; /* array/object: first child or NULL */
    const ef_json_value_t *next;  /* next sibling or NULL */
    size_t offset;                /* byte offset of the value in the input */
};

typedef struct ef_json_limits {
    size_t max_len;     /* input bytes (0: 64 MiB) */
    int max_depth;      /* nesting of arrays/objects (0: 64) */
    size_t max_values;  /* values in the document (0: 1,000,000) */
} ef_json_limits_t;

typedef struct ef_json ef_json_t;

/* Parse `len` bytes of `text` (need not be NUL-terminated). `name` names the
 * input in messages ("NAME: byte N: what was expected"). lim may be NULL
 * (defaults). Returns NULL with err on any violation. */
ef_json_t *ef_json_parse(const char *text, size_t len, const ef_json_limits_t *lim,
                         const char *name, ef_err_t *err);
void ef_json_free(ef_json_t *doc);

const ef_json_value_t *ef_json_root(const ef_json_t *doc);

/* Member of an object by key (exact, byte-wise), or NULL. */
const ef_json_value_t *ef_json_get(const ef_json_value_t *obj, const char *key);

/* The number as an exact non-negative integer: the token must be digits
 * only (no sign, fraction or exponent) and fit in uint64_t. 0 on success. */
int ef_json_u64(const ef_json_value_t *v, uint64_t *out);

const char *ef_json_type_name(ef_json_type_t t);

#endif
