/* Fuzz target: the strict JSON parser (model file headers, EVE checks).
 *
 * The input is parsed twice: with the default limits and with small ones
 * (depth 8, 64 values), so both the limits and the grammar are exercised.
 * An accepted document is walked: every array/object's count equals its
 * number of children, ef_json_get finds every member by its key (keys are
 * unique; keys holding a NUL byte are not looked up), offsets lie inside
 * the input, and decoded strings are NUL-terminated at str_len. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

static size_t walk(const ef_json_value_t *v, const ef_json_value_t *parent, size_t len, int depth)
{
    size_t n = 1;
    if (v->offset >= len || depth > 70)
        abort();
    if ((v->type == EF_JSON_STRING || v->type == EF_JSON_NUMBER) && (!v->str ||
                                                                      v->str[v->str_len]))
        abort();
    if (parent && parent->type == EF_JSON_OBJECT) {
        if (!v->key || v->key[v->key_len])
            abort();
        if (strlen(v->key) == v->key_len && ef_json_get(parent, v->key) != v)
            abort();
    }
    if (v->type == EF_JSON_NUMBER) {
        uint64_t u;
        (void)ef_json_u64(v, &u);
    }
    if (v->type == EF_JSON_ARRAY || v->type == EF_JSON_OBJECT) {
        size_t count = 0;
        for (const ef_json_value_t *c = v->child; c; c = c->next) {
            n += walk(c, v, len, depth + 1);
            count++;
        }
        if (count != v->count)
            abort();
    }
    (void)ef_json_type_name(v->type);
    return n;
}

static void parse(const uint8_t *data, size_t size, const ef_json_limits_t *lim)
{
    ef_err_t err = {{0}};
    ef_json_t *doc = ef_json_parse((const char *)data, size, lim, "fuzz.json", &err);
    if (!doc) {
        if (!err.msg[0])
            abort();
        return;
    }
    const ef_json_value_t *root = ef_json_root(doc);
    if (!root)
        abort();
    size_t n = walk(root, NULL, size, 0);
    if (lim && lim->max_values && n > lim->max_values)
        abort();
    ef_json_free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse(data, size, NULL);
    ef_json_limits_t small = {.max_len = 4096, .max_depth = 8, .max_values = 64};
    parse(data, size, &small);
    return 0;
}
