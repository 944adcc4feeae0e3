/*
 * task: one unit of work and, once it has run, its final record.  A task is
 * created by a source, waits on the queue, is run by a runner and ends with
 * exactly one status.  It owns its command line and captured output; the
 * runner's handles live in runner-private memory hung on `run`.
 */
#ifndef PR_TASK_H
#define PR_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "util.h"

struct pr_retry_on;
struct pr_source;

/* The final statuses, in the order the summary prints them. */
#define PR_TASK_STATUS_MAP(X)                                                  \
    X(OK, "ok")                                                                \
    X(FAILED, "failed")                                                        \
    X(TIMEOUT, "timeout")                                                      \
    X(KILLED, "killed")                                                        \
    X(ERROR, "error")                                                          \
    X(SKIPPED, "skipped")

enum pr_task_status {
#define PR_X(name, text) PR_TASK_##name,
    PR_TASK_STATUS_MAP(PR_X)
#undef PR_X
    PR_TASK_STATUS_COUNT
};

/* error_what of a task whose job-file cwd cannot be entered. */
#define PR_ERR_CWD "cannot enter its cwd"

/* One input item: bytes that may hold anything, NUL included. */
struct pr_item {
    char *p;
    size_t len;
};

/* One task this one runs after (a job file's "after" or "after_any"): it
 * must have ended first and, unless `any`, succeeded. */
struct pr_task_after {
    char *id;
    char *at; /* "file:line:column" of the id, for messages */
    int any;
};

/* What a job file says of a task beyond its command.  Fields whose feature
 * comes later (timeout, retries, input, daemon, callbacks) are validated
 * and kept here already. */
struct pr_task_spec {
    char *id;         /* or NULL */
    char *id_at;      /* "file:line:column" of the id, for messages */
    char **env;       /* "NAME=value" sets, "NAME" removes; NULL-terminated */
    int env_borrowed; /* env is its owner's (the queue service's submit,
                         shared by its tasks): freeing the spec leaves it */
    char *cwd;        /* already resolved against the job file's folder */
    double timeout;   /* seconds; < 0: none */
    int retries;      /* -1: not given */
    char *input;      /* a worker's input line, or NULL */
    int daemon;
    char *on_done;
    char *on_fail;
    struct pr_retry_on *retry_on; /* its own --retry-on list, or NULL */
    struct pr_task_after *after;  /* "after" then "after_any", or NULL */
    unsigned nafter;
};

struct pr_task {
    struct pr_list node; /* on the queue, the pool's running list, or the
                            output's pending list */
    struct pr_list run_node; /* the runner's own lists (a worker's tasks) */
    uint64_t seq;        /* 1, 2, ... in input order */
    char *line;          /* the shell line, NUL-terminated; with argv, how
                            the command reads when pasted into a shell */
    size_t line_len;     /* may contain NUL bytes before line_len */
    char **argv;         /* run directly (execvp) when set */
    int plain_line;      /* its line may run without a shell if it is a
                            simple command: a runner that starts programs
                            splits it (pr_shell_split_simple) */
    struct pr_item *items; /* the input items the task was made from */
    unsigned nitems;
    char *tag;           /* --tag: prefix of each output line, or NULL */
    size_t tag_len;
    int priority;
    /* An input item too long to hold in memory (source_lines.h's
     * PR_ITEM_MAX): items (and line, for a shell line) hold its head and
     * its length in words, for records and messages, never to run. */
    uint64_t long_len;     /* that item's length, or 0 */
    int long_fd;           /* the task is that item as a shell line, whole
                              in this private file (owned: see
                              pr_task_set_long_fd); or -1 */
    int long_error;        /* why no runner may run it (a negative code),
                              or 0; pr_task_runnable says it */
    const char *long_why;  /* ... in words */
    struct pr_task_spec *spec; /* from a job file, or NULL */
    const char *callback; /* a callback: "on_done", "on_fail" or "on_join";
                             NULL for a task */
    void *src;            /* the source's own pointer (a stream entry id,
                             a client), for its ended and requeue (see
                             source.h); nothing else touches it */
    struct pr_source *origin; /* the source that put the task, set by
                                 whoever takes it (the pool, at put): with
                                 several sources at once, the one whose
                                 ended and requeue it goes to; NULL for a
                                 callback or a task made by no source */

    /* Filled in while the task runs. */
    unsigned slot;
    int pid;
    double start_wall;      /* epoch seconds, for the joblog */
    uint64_t start_ns;      /* uv_hrtime() at start */
    uint64_t end_ns;        /* uv_hrtime() at its exit, or its record */
    int exit_status;        /* exit code when it exited */
    int term_signal;        /* signal that ended it, or 0 */
    int signalled;          /* the last signal poolrun sent it, or 0 */
    int timed_out;          /* poolrun ended it at its timeout */
    unsigned attempt;       /* 1 on the first run, 2 on the first retry... */
    uint64_t retry_at;      /* uv_now() when its next attempt may start */
    int stdin_fd;           /* its stdin (owned), or -1 for /dev/null */
    struct pr_item block;   /* --pipe: what its stdin gets instead (owned;
                               dropped at its final record), or p NULL */
    int block_in_file;      /* --pipe from a regular file: the block is
                               block.len bytes of block_fd (not owned) at
                               block_off, and block.p is NULL */
    int block_fd;
    uint64_t block_off;
    const char *skip_why;   /* why a skipped task never ran, or NULL */
    int skip_after;         /* skipped: a task it runs after did not
                               succeed (skip_why says which) */
    int after_unheld;       /* its spec has "after" and nothing held it
                               back (a runner that cannot honour it: the
                               queue service, a Redis worker): it may not
                               run (pr_task_runnable) */
    int service;      /* a job file's "daemon": true task */
    int live;         /* its runner started it: the pool counts it live */
    int requeue;      /* a worker died holding it, not at its fault: it
                         goes back to the queue, not an attempt (set
                         until that attempt starts again) */
    int worker_error; /* its worker failed it (a bad answer, no answer) */
    int no_stream;          /* -k: its output must wait for its end (it may
                               be retried, or a callback reads it) */
    int streaming;          /* -k: the oldest task, its output goes out as
                               it comes (nothing may precede it anyway) */
    int results_fd[2];      /* --results DIR/: its stdout and stderr files,
                               or 0 (fd 0 is never one) */
    unsigned results_attempt; /* the attempt those files hold */
    struct pr_buf head[2];  /* --results with -u or --line-buffer: the
                               first bytes of stdout and stderr */
    int error;              /* negative code when status is PR_TASK_ERROR */
    const char *error_what; /* what failed, for the message */
    enum pr_task_status status;
    struct pr_capture out; /* captured stdout */
    struct pr_capture err; /* captured stderr */
    void *run;             /* the runner's private state while running */
    struct pr_attempt *prev; /* a retry about to start: the last attempt,
                                kept by the pool until this one has begun */
};

/* Returns a new task that owns a copy of line[0..len); free with
 * pr_task_free. */
struct pr_task *pr_task_new(uint64_t seq, const char *line, size_t len);

/* Returns a new task made from copies of n items; its command is built
 * when it starts.  Free with pr_task_free. */
struct pr_task *pr_task_new_items(const struct pr_item *items, unsigned n);

/* Frees a spec and everything in it.  NULL is a no-op. */
void pr_task_spec_free(struct pr_task_spec *spec);

/* Frees the task, its line and its captured output.  NULL is a no-op. */
void pr_task_free(struct pr_task *task);

/* Forgets the command built from the items (map mode), so that it is
 * built again for the next attempt. */
void pr_task_clear_command(struct pr_task *task);

/* Gives the task fd, the private file that holds its long item whole.
 * Such files stay open until their task is freed. */
void pr_task_set_long_fd(struct pr_task *task, int fd);

/* How many such files tasks hold, all tasks together: each is a
 * descriptor, so a source stops reading while too many are held. */
unsigned pr_task_long_files(void);

/* Every runner asks this first, on every attempt: returns 0 if the task
 * may run; else sets its error and error_what from why it cannot (an item
 * too long to pass on) and returns the error. */
int pr_task_runnable(struct pr_task *task);

/* The status's name ("ok", "failed", ...). */
const char *pr_task_status_name(enum pr_task_status status);

/* Runtime in seconds: from start to end, or 0 if it never started. */
double pr_task_runtime(const struct pr_task *task);

/* A finished task's exit code as a shell would see it: its exit status,
 * 128+N when signal N ended it, 124 after its timeout (as timeout(1)),
 * 126 (or the status it was given) when it could not start, 0 if ok. */
int pr_task_code(const struct pr_task *task);

/* The status an attempt ended with, from its error, timeout, signal and
 * exit status, in that order. */
enum pr_task_status pr_task_final_status(const struct pr_task *task);

#endif
