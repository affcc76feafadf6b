/* Helpers shared by the fuzz targets (fuzz_*.c): a per-process scratch file
 * for loaders that only read from a path. It lives in $EF_FUZZ_TMP when set
 * (fuzz/run-fuzz.sh points it at a folder it removes afterwards), else in
 * /dev/shm when writable (tmpfs: no disk I/O per execution), else /tmp. */
#ifndef EF_FUZZ_UTIL_H
#define EF_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Write data to this process's scratch file (suffix chosen by the target,
 * e.g. ".pcap") and return its path; NULL if it cannot be written. */
static inline const char *fuzz_scratch_file(const char *suffix, const uint8_t *data,
                                            size_t len)
{
    static char path[512];
    if (!path[0]) {
        const char *dir = getenv("EF_FUZZ_TMP");
        if (!dir || !*dir)
            dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(path, sizeof path, "%s/ef_fuzz_%ld%s", dir, (long)getpid(), suffix);
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return NULL;
    size_t w = len ? fwrite(data, 1, len, f) : 0;
    if (fclose(f) != 0 || w != len)
        return NULL;
    return path;
}

#endif
