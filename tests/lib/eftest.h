/* Helpers shared by the Check suites: temporary folders, files, running the
 * built `earlyflow` binary, and the optional third-party data folder. */
#ifndef EF_TEST_EFTEST_H
#define EF_TEST_EFTEST_H

#include <check.h>
#include <stddef.h>

/* A fresh empty directory under $TMPDIR (removed by eft_rmtree). */
char *eft_mkdtemp(const char *tag);
void eft_rmtree(const char *path);

/* Join path parts into a static-per-call malloc'd string (caller frees). */
char *eft_path(const char *dir, const char *name);

/* Whole file into a NUL-terminated malloc'd buffer (NULL if unreadable). */
char *eft_read_file(const char *path, size_t *len);
int eft_write_file(const char *path, const void *data, size_t len);

/* Run a shell command line; stdout and stderr are captured into malloc'd
 * strings when the pointers are non-NULL. Returns the exit status (or -1). */
int eft_run(const char *cmdline, char **out, char **err);

/* Path of the built `earlyflow` binary and earlyflow.so. */
const char *eft_bin(void);
const char *eft_plugin(void);

/* The shared captures folder, or NULL when absent (tests then skip). */
const char *eft_shared_data(void);

/* Run a suite with Check and return the process status (0 all passed). */
int eft_run_suite(Suite *s);

#endif
