/*
 * verbs: `poolrun serve` and the commands that talk to it (submit, status,
 * join, wait, shutdown).  A verb is the first word of the command line;
 * `poolrun -- submit` runs a program named submit.
 */
#ifndef PR_VERBS_H
#define PR_VERBS_H

/* If argv[1] is a verb, runs it and returns 1 with its exit status in
 * *status; else returns 0. */
int pr_verb_run(int argc, char **argv, int *status);

#endif
