/*
 * options: the command line, parsed into a struct pr_config before anything
 * runs, from one table of options (options.c) that also gives the defaults
 * and --help.  A bad option is described in one line that names it; the
 * caller prints it and exits 255.
 */
#ifndef PR_OPTIONS_H
#define PR_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "pool.h"
#include "util.h"

/* --exit-status: what poolrun's status says about failed tasks. */
enum pr_exit_policy {
    PR_EXIT_COUNT, /* how many failed (the default) */
    PR_EXIT_FIRST, /* the code of the first to fail */
    PR_EXIT_LAST,  /* of the last */
    PR_EXIT_MAX    /* the highest */
};

/* One input source of map mode: -a FILE, :::: FILE or ::: ITEM.... */
struct pr_input {
    const char *file; /* FILE ("-": stdin), or NULL: items */
    const char *how;  /* "-a" or "::::", for messages */
    char **items;     /* ::: ITEM... */
    int nitems;
    int linked;       /* :::+ or ::::+: pairs with the input */
};

struct pr_config {
    struct pr_pool_config pool;
    int show_help;
    int show_version;
    int summary;      /* print the closing counts even when all is well */
    char **command;   /* COMMAND [ARG...] (map mode), or none */
    int ncommand;
    char **args;      /* ::: ITEM... (the only input) */
    int nargs;
    int have_args;
    struct pr_input *inputs; /* every input, -a first, then those after
                                COMMAND in order; free the array */
    int ninputs;
    int link;               /* --link */
    const char *colsep;     /* --colsep REGEX */
    const char *header;     /* --header : */
    const char *tagstring;  /* --tagstring STR */
    int per_task_set;       /* -n was given: -n 0 means no argument */
    int no_args;            /* -n 0 */
    int parallel_empty;     /* GNU parallel's inputs: none run nothing */
    const char **arg_files; /* -a FILE, in order; free the array */
    int narg_files;
    char delim;
    unsigned per_task;      /* -n */
    int no_run_if_empty;    /* -r */
    const char *sentinel;   /* -E */
    const char *replace;    /* -I */
    int force_shell;        /* --shell */
    const char **job_files; /* -f FILE, in order; free the array */
    int njob_files;
    int json;               /* --json */
    int pipe;               /* --pipe: stdin in blocks, one per task */
    int pipepart;           /* --pipepart: the blocks of the one -a FILE */
    size_t block;           /* --block */
    char recend[8];         /* --recend (escapes undone), or "" */
    size_t recend_len;
    int block_set;          /* --block or --recend was given */
    int queue_size_set;     /* --queue-size was given */
    int jobs_set;           /* -j was given (not just its default) */
    int verbose;            /* -t: each command on stderr as it starts */
    int order_set;          /* --order was given */
    enum pr_exit_policy exit_policy;
    int resume_failed;      /* --resume-failed (with pool.resume) */
    struct pr_worker_config workers; /* pool.workers points here */
};

/* Fills cfg from argv (cfg points into argv: keep it).  Returns 0, or -1
 * with a message (without the "poolrun: " prefix) in err.  Either way,
 * free cfg with pr_options_free. */
int pr_options_parse(int argc, char **argv, struct pr_config *cfg, char *err,
                     size_t errlen);

/* Frees what pr_options_parse allocated in cfg (not cfg itself). */
void pr_options_free(struct pr_config *cfg);

/* Writes the --help text to out. */
void pr_options_usage(FILE *out);

#endif
