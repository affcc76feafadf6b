/* Built-in model files compiled into earlyflow.so (see models/README.md).
 *
 * Each entry is the verbatim bytes of one models/builtin/<name>.safetensors
 * file; the model loader treats them exactly like a file read from disk.
 * The table is immutable and safe to read from any thread. */
#ifndef EF_BUILTIN_MODELS_H
#define EF_BUILTIN_MODELS_H

#include <stddef.h>

typedef struct ef_builtin_model {
    const char *name;          /* file name without extension, e.g. "builtin_k5" */
    const unsigned char *data; /* safetensors bytes */
    size_t len;
} ef_builtin_model_t;

extern const ef_builtin_model_t ef_builtin_models[];
extern const size_t ef_builtin_models_count;

#endif
