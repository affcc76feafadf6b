/* earlyflow: one binary, one sub-command per job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"run", ef_cmd_run, "run earlyflow.so over captures or a live interface (the IDS host)"},
    {"collect", ef_cmd_collect, "turn captures (+ MAWILab labels) into first-k dataset CSVs"},
    {"train", ef_cmd_train, "train a model on a dataset CSV"},
    {"pretrain", ef_cmd_pretrain, "pre-train the seq2seq autoencoder (SEQ model)"},
    {"eval", ef_cmd_eval, "evaluate a model file on a dataset CSV"},
    {"gen", ef_cmd_gen, "generate labelled traffic: a pcap and its MAWILab label file"},
    {"model", ef_cmd_model, "inspect model files (model info FILE)"},
    {"rules", ef_cmd_rules, "check a rules file (rules --check FILE)"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: earlyflow <command> [options]   (earlyflow <command> --help)\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nearlyflow %s - early flow classification in the MAWILab taxonomy\n",
            EF_VERSION);
}

/* Debian's OpenBLAS (the pthread variant) starts its thread pool when the
 * library is loaded, and each idle pool thread spins for ~0.1 s of CPU
 * before it sleeps, in every process, whether BLAS is called or not.
 * earlyflow has its own threads and multiplies matrices far too small for a
 * BLAS thread pool to pay off, so it runs with one BLAS thread: the pool
 * size is read only at load time, hence the re-exec with
 * OPENBLAS_NUM_THREADS=1. Setting OPENBLAS_NUM_THREADS yourself keeps your
 * value (docs/dependencies.md). */
static void single_blas_thread(char **argv)
{
    if (getenv("OPENBLAS_NUM_THREADS"))
        return;
    /* the path, not /proc/self/exe itself: under valgrind that file is the
     * tool, while readlink gives the program's path */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || setenv("OPENBLAS_NUM_THREADS", "1", 1) != 0)
        return;
    exe[n] = '\0';
    execv(exe, argv);
    /* exec failed: carry on with BLAS's default pool */
}

int main(int argc, char **argv)
{
    single_blas_thread(argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("earlyflow %s\n", EF_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "earlyflow: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
