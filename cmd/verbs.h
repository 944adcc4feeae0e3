/*
 * verbs: `poolrun serve` and the commands that talk to it (submit, status,
 * join, wait, shutdown).  A verb is the first word of the command line;
 * `poolrun -- submit` runs a program named submit.
 */
#ifndef PR_VERBS_H
#define PR_VERBS_H

#include <uv.h>

/* If argv[1] is a verb, runs it and returns 1 with its exit status in
 * *status; else returns 0. */
int pr_verb_run(int argc, char **argv, int *status);

struct pr_config;
struct pr_source;

/* In main.c: runs the one-shot command's pool with every option of cfg
 * over the source src(loop, data) makes on the run's loop (NULL after
 * saying why: the run fails); SIGINT and SIGTERM drain, and end what
 * still runs after cfg's --grace.  Returns the exit status. */
/* In main.c: one line for stderr (the newline is added), behind what
 * waits there while a run goes on. */
void pr_main_say(const char *line);

int pr_main_run_worker(struct pr_config *cfg,
                       struct pr_source *(*src)(uv_loop_t *loop, void *data),
                       void *data);

#endif
