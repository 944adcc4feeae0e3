/*
 * source_json: tasks from JSON job files and JSON Lines.  A file is checked
 * whole before anything runs: its syntax and what plain JSON parsers let
 * through (duplicate keys, \u0000, invalid UTF-8, trailing bytes: json.c's
 * strict parse), then the schema (numbers out of range among it).  Every
 * error names the place:
 * "jobs/ci.json:14:18: tasks[3].timeout: must be a number of seconds >= 0".
 */
#ifndef PR_SOURCE_JSON_H
#define PR_SOURCE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "source.h"
#include "task.h"

struct pr_idset;

/* Where and why a job file was refused. */
struct pr_diag {
    char msg[1024];
};

/* The tasks of one or more job files, in order. */
struct pr_jobfile {
    struct pr_task **tasks;
    size_t ntasks;
    size_t cap;
    long jobs; /* the first file's "jobs", or -1 */
    int order; /* the first file's "order" (an enum pr_queue_order), or
                  -1 */
};

void pr_jobfile_init(struct pr_jobfile *jf);

/* Reads, checks and appends the tasks of the file at path.  Returns 0, or
 * -1 with d->msg set (the tasks already appended stay). */
int pr_jobfile_load(struct pr_jobfile *jf, const char *path,
                    struct pr_diag *d);

/* The same for a job file already in memory, named `name` in messages;
 * cwd values are resolved against dir (NULL: left as they are). */
int pr_jobfile_load_mem(struct pr_jobfile *jf, const char *name,
                        const char *text, size_t len, const char *dir,
                        struct pr_diag *d);

/* After the last load: refuses a task id used twice.  Returns 0 or -1. */
int pr_jobfile_check_ids(const struct pr_jobfile *jf, struct pr_diag *d);

/* After pr_jobfile_check_ids: each id named in "after" or "after_any" is
 * a task's, not a service's, and no task runs after itself, however far
 * round.  Returns 0, or -1 with d->msg set ("PLACE: tasks[2].after[0]: no
 * task has the id "x"", "...: a cycle (each runs after the next): a -> b
 * -> a"). */
int pr_jobfile_check_deps(const struct pr_jobfile *jf, struct pr_diag *d);

/* Does a task of jf run after another? */
int pr_jobfile_has_after(const struct pr_jobfile *jf);

/* The task ids seen so far (of job files, or of JSON Lines as they come),
 * each with where it was first used.  It grows with the ids. */
struct pr_idset *pr_idset_new(void);
void pr_idset_free(struct pr_idset *set); /* NULL-safe */

/* Adds task's id, if it has one, for a stream (--json): each task it runs
 * after must be in the set already (an earlier line), and no service.
 * Returns 0, or -1 with d->msg set ("PLACE: task id "x" is used twice
 * (first at PLACE)", "PLACE: tasks.after[0]: no task "x" on an earlier
 * line ..."). */
int pr_idset_add(struct pr_idset *set, const struct pr_task *task,
                 struct pr_diag *d);

/* Frees the tasks not handed on.  NULL-safe. */
void pr_jobfile_free(struct pr_jobfile *jf);

/* Parses one line of JSON Lines (a task object) from the input `name`.
 * Returns 0 and a new task in *out, or -1 with d->msg set. */
int pr_jobline_parse(const char *name, uint64_t lineno, const char *p,
                     size_t len, struct pr_task **out, struct pr_diag *d);

/* A source that puts the tasks of jf, taking them (jf is left empty). */
struct pr_source *pr_source_tasks_new(struct pr_jobfile *jf);

#endif
