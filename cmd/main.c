/*
 * poolrun: main.  Parses options, runs the pool over stdin, prints what
 * users must know (bad options, tasks that failed, poolrun's own errors)
 * and turns the run's result into the exit status.  This file and
 * options.c are the only places that print, pick a status or exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "options.h"
#include "verbs.h"
#include "pool.h"
#include "rq.h"
#include "source_json.h"
#include "source_lines.h"
#include "sources.h"
#include "source_pipe.h"
#include "status.h"
#include "sys.h"
#include "task.h"
#include "template.h"

/* The exit-status table of DESIGN.md and poolrun(1). */
#define EXIT_OK          0
#define EXIT_MAX_COUNTED 100
#define EXIT_TOO_MANY    101
#define EXIT_SIGNAL_BASE 128
#define EXIT_OWN_ERROR   255

#define SHOWN_COMMAND_MAX 80

/* The command as one short line: newlines and tabs shown as \n and \t,
 * cut at SHOWN_COMMAND_MAX bytes with "...". */
static void
shown_command(const struct pr_task *task, char *out, size_t outlen)
{
    size_t o = 0;
    size_t i;

    for (i = 0; i < task->line_len && o + 5 < outlen; i++) {
        char c = task->line[i];

        if (i >= SHOWN_COMMAND_MAX) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (c == '\n' || c == '\t' || c == '\0') {
            out[o++] = '\\';
            out[o++] = c == '\n' ? 'n' : c == '\t' ? 't' : '0';
        } else {
            out[o++] = c;
        }
    }
    out[o] = '\0';
}

/* While the loop runs, poolrun's messages go to stderr through the pool,
 * behind the output already waiting there: a reader of `2>&1` that does
 * not read must not hold the loop up.  After a run stopped by a signal
 * they are written only as far as stderr takes them at once. */
static struct pr_pool *msg_pool;
static int msg_no_wait;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(buf))
        n = (int)sizeof(buf) - 1;
    if (msg_pool != NULL) {
        pr_pool_message(msg_pool, buf, (size_t)n);
        return;
    }
    if (msg_no_wait) {
        /* Through a writer of our own (see sys.h): O_NONBLOCK never
         * reaches the shell's description of stderr. */
        static struct pr_writer w;
        static int ready;
        size_t done;

        if (!ready) {
            pr_sys_writer_open(&w, 2);
            ready = 1;
        }
        (void)pr_sys_writer_write(&w, buf, (size_t)n, &done);
        return;
    }
    (void)pr_write_all(2, buf, (size_t)n);
}

/* Output that no temporary file could take (a full disk) is said, not
 * silently missing. */
static void
report_lost(const struct pr_task *task, int stream, const struct pr_capture *c)
{
    if (c->lost == 0)
        return;
    say(
            "poolrun: task %llu: %llu bytes of its %s were lost: cannot write "
            "a temporary file: %s\n",
            (unsigned long long)task->seq, (unsigned long long)c->lost,
            stream == 1 ? "stdout" : "stderr", pr_err_text(c->lost_err));
}

static void
on_record(void *data, const struct pr_task *task)
{
    char cmd[SHOWN_COMMAND_MAX * 2 + 8];
    char who[256];
    const char *id = task->spec != NULL ? task->spec->id : NULL;
    int n;

    (void)data;
    /* A service that ended when it was told to did its job. */
    if (task->service && task->status == PR_TASK_OK)
        return;
    report_lost(task, 1, &task->out);
    report_lost(task, 2, &task->err);
    if (task->status == PR_TASK_OK ||
        (task->status == PR_TASK_SKIPPED && !task->skip_after))
        return;
    /* A reader that went away needs no warning, and neither does a task
     * that poolrun itself was told to stop. */
    if (task->status == PR_TASK_KILLED &&
        (task->term_signal == SIGPIPE || task->signalled != 0))
        return;
    if (task->service)
        n = snprintf(who, sizeof(who), "service");
    else
        n = snprintf(who, sizeof(who), "task %llu",
                     (unsigned long long)task->seq);
    if (id != NULL && n > 0 && (size_t)n < sizeof(who))
        n += snprintf(who + n, sizeof(who) - (size_t)n, " (%.64s)", id);
    if (task->pid > 0 && n > 0 && (size_t)n < sizeof(who))
        snprintf(who + n, sizeof(who) - (size_t)n, ", pid %d", task->pid);
    shown_command(task, cmd, sizeof(cmd));
    switch (task->status) {
    case PR_TASK_SKIPPED: /* what it ran after did not succeed */
        say("poolrun: %s: skipped: %s: %s\n", who, task->skip_why, cmd);
        break;
    case PR_TASK_FAILED:
        if ((task->worker_error || task->service) && task->error_what != NULL)
            say("poolrun: %s: %s: %s\n", who, task->error_what,
                    cmd);
        else
            say("poolrun: %s: exit status %d: %s\n", who,
                    task->exit_status, cmd);
        break;
    case PR_TASK_TIMEOUT:
        say("poolrun: %s: timed out after %.3g s: %s\n", who,
                pr_task_runtime(task), cmd);
        break;
    case PR_TASK_KILLED:
        say("poolrun: %s: killed by signal %d (%s): %s\n", who,
                task->term_signal, pr_signal_name(task->term_signal), cmd);
        break;
    case PR_TASK_ERROR:
        if (task->error_what != NULL &&
            strcmp(task->error_what, PR_ERR_CWD) == 0)
            say("poolrun: %s: %s %s: %s: %s\n", who,
                    task->error_what, task->spec->cwd,
                    pr_err_text(task->error), cmd);
        else
            say("poolrun: %s: %s: %s: %s\n", who,
                    task->error_what ? task->error_what : "cannot start",
                    pr_err_text(task->error), cmd);
        break;
    default:
        break;
    }
}

/* A callback that did not succeed is said; the task's result stands. */
static void
on_callback(void *data, const struct pr_task *cb)
{
    char cmd[SHOWN_COMMAND_MAX * 2 + 8];
    char who[64];

    (void)data;
    if (cb->status == PR_TASK_OK)
        return;
    if (strcmp(cb->callback, "on_join") == 0)
        snprintf(who, sizeof(who), "--on-join");
    else
        snprintf(who, sizeof(who), "the %s callback of task %llu",
                 cb->callback, (unsigned long long)cb->seq);
    shown_command(cb, cmd, sizeof(cmd));
    if (cb->status == PR_TASK_KILLED)
        say("poolrun: %s: killed by signal %d (%s): %s\n", who,
                cb->term_signal, pr_signal_name(cb->term_signal), cmd);
    else if (cb->status == PR_TASK_ERROR)
        say("poolrun: %s: %s: %s: %s\n", who,
                cb->error_what ? cb->error_what : "cannot start",
                pr_err_text(cb->error), cmd);
    else
        say("poolrun: %s: exit status %d: %s\n", who,
                cb->exit_status, cmd);
}

/* A worker that died on its own, or did not exit cleanly when told to. */
static void
on_worker_exit(void *data, const struct pr_worker_exit *e)
{
    char how[64];

    (void)data;
    if (e->term_signal != 0)
        snprintf(how, sizeof(how), "killed by signal %d (%s)", e->term_signal,
                 pr_signal_name(e->term_signal));
    else
        snprintf(how, sizeof(how), "exit status %d", e->exit_status);
    if (e->clean || e->replaced)
        return;
    say("poolrun: worker %u (pid %d): %s %s, after %llu task%s\n",
            e->index, e->pid, how,
            e->at_shutdown ? "at shutdown" : "while running",
            (unsigned long long)e->served, e->served == 1 ? "" : "s");
}

static void
on_throttle(void *data, int err, unsigned running)
{
    (void)data;
    say(
            "poolrun: cannot start another task (%s): running at "
            "most %u at a time from now on\n",
            pr_err_text(err), running);
}

/* -t (xargs's and GNU parallel's): each command on stderr as it starts,
 * as it runs (an argv task's line is how it reads pasted into a shell).
 * One line per task: a newline in it shows as \n, a NUL as \0, a carriage
 * return as \r and another control byte as \xHH (an item cannot move
 * the cursor to hide what runs, or drive the terminal), and a line too
 * long to hold (a long item) shows its head and "...".  Through the pool,
 * behind the output already waiting for stderr. */
static void
on_task_verbose(void *data, struct pr_task *task)
{
    size_t cap = task->line_len * 4 + 5;
    char *buf = pr_xmalloc(cap);
    size_t o = 0;
    size_t i;

    (void)data;
    for (i = 0; i < task->line_len; i++) {
        unsigned char c = (unsigned char)task->line[i];

        if (c == '\n' || c == '\0' || c == '\r') {
            buf[o++] = '\\';
            buf[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' : '0';
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    if (task->long_fd >= 0 || task->long_len != 0) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '\n';
    if (msg_pool != NULL)
        pr_pool_message(msg_pool, buf, o);
    free(buf);
}

/* cmd's messages are one sink of the records among the others. */
static const struct pr_sink_ops messages = {
    .final = on_record,
    .callback_done = on_callback,
};

/* --halt stopped the run: which task reached which limit, and what
 * became of the rest. */
static void
say_halted(const struct pr_config *cfg, const struct pr_pool_result *res)
{
    static const char *const on[] = {"fail", "success", "done"};
    const struct pr_halt *h = &cfg->pool.halt;
    char limit[64];

    if (h->pct > 0)
        snprintf(limit, sizeof(limit), "%s=%g%%", on[h->on], h->pct);
    else
        snprintf(limit, sizeof(limit), "%s=%llu", on[h->on],
                 (unsigned long long)h->count);
    say("poolrun: --halt %s,%s: reached by task %llu (%s): %s\n",
        h->when == PR_HALT_NOW ? "now" : "soon", limit,
        (unsigned long long)res->halt_seq,
        pr_task_status_name(res->halt_status),
        h->when == PR_HALT_NOW
            ? "the tasks still running were ended, no other task started"
            : "the tasks running were let finish, no other task started");
}

/* "poolrun: 5 tasks: 3 ok, 1 failed, 1 skipped", statuses with no task
 * left out. */
static void
print_summary(const struct pr_pool_result *res)
{
    const char *sep = ": ";
    size_t i;

    say("poolrun: %llu task%s", (unsigned long long)res->tally.total,
            res->tally.total == 1 ? "" : "s");
    for (i = 0; i < PR_TASK_STATUS_COUNT; i++) {
        if (res->tally.counts[i] == 0)
            continue;
        say("%s%llu %s", sep, (unsigned long long)res->tally.counts[i],
                pr_task_status_name((enum pr_task_status)i));
        sep = ", ";
    }
    say("\n");
    if (res->services_failed != 0)
        say("poolrun: %llu service%s ended before the other "
                "tasks did\n", (unsigned long long)res->services_failed,
                res->services_failed == 1 ? "" : "s");
    if (res->workers_started != 0)
        say("poolrun: %llu worker%s started, %llu ended badly at "
                "shutdown\n", (unsigned long long)res->workers_started,
                res->workers_started == 1 ? "" : "s",
                (unsigned long long)res->workers_bad_exit);
    for (i = 0; i < res->tally.nslowest; i++)
        say("poolrun: %s task %llu (%.3f s): %s\n",
                i == 0 ? "slowest:" : "        ",
                (unsigned long long)res->tally.slowest[i].seq,
                res->tally.slowest[i].runtime, res->tally.slowest[i].text);
}

static int
exit_status(const struct pr_pool_result *res, enum pr_exit_policy policy)
{
    const uint64_t *counts = res->tally.counts;
    uint64_t failed = counts[PR_TASK_FAILED] + counts[PR_TASK_TIMEOUT] +
                      counts[PR_TASK_KILLED] + counts[PR_TASK_ERROR] +
                      res->services_failed;

    if (res->stop == PR_STOP_SIGNAL)
        return EXIT_SIGNAL_BASE + res->stop_signal;
    if (res->stop == PR_STOP_HALT)
        return res->halt_code;
    if (res->stop == PR_STOP_FATAL) {
        say("poolrun: %s\n", res->fatal_msg);
        return EXIT_OWN_ERROR;
    }
    if (res->stop == PR_STOP_DRAIN)
        return EXIT_SIGNAL_BASE + SIGHUP;
    if (res->output_error == UV_EPIPE)
        return EXIT_SIGNAL_BASE + SIGPIPE;
    if (res->output_error != 0) {
        say("poolrun: writing standard output: %s\n",
                pr_err_text(res->output_error));
        return EXIT_OWN_ERROR;
    }
    if (res->input_msg[0] != '\0') {
        say("poolrun: %s\n", res->input_msg);
        return EXIT_OWN_ERROR;
    }
    if (res->input_error != 0) {
        say("poolrun: reading the input: %s\n",
                pr_err_text(res->input_error));
        return EXIT_OWN_ERROR;
    }
    if (res->tally.output_lost != 0) {
        say("poolrun: the output of %llu task%s was cut short "
                "(see above)\n", (unsigned long long)res->tally.output_lost,
                res->tally.output_lost == 1 ? "" : "s");
        return EXIT_OWN_ERROR;
    }
    if (res->results_error != 0) {
        say("poolrun: writing the results: %s\n",
                pr_err_text(res->results_error));
        return EXIT_OWN_ERROR;
    }
    if (res->joblog_error != 0) {
        say("poolrun: writing the joblog: %s\n",
                pr_err_text(res->joblog_error));
        return EXIT_OWN_ERROR;
    }
    switch (policy) {
    case PR_EXIT_FIRST:
        return res->tally.have_code ? res->tally.first_code : EXIT_OK;
    case PR_EXIT_LAST:
        return res->tally.have_code ? res->tally.last_code : EXIT_OK;
    case PR_EXIT_MAX:
        return res->tally.have_code ? res->tally.max_code : EXIT_OK;
    case PR_EXIT_COUNT:
    default:
        break;
    }
    if (failed > EXIT_MAX_COUNTED)
        return EXIT_TOO_MANY;
    return (int)failed;
}

/* --help and --version write to stdout; a failed write is an error. */
static int
finish_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "poolrun: writing standard output: %s\n",
                pr_err_text(-errno));
        return EXIT_OWN_ERROR;
    }
    return EXIT_OK;
}

/* The name of input i in messages: "stdin", "-a FILE" or ":::: FILE". */
static void
input_name(const struct pr_config *cfg, int i, char *out, size_t outlen)
{
    if (cfg->ninputs == 0)
        snprintf(out, outlen, "stdin");
    else
        snprintf(out, outlen, "%s %s", cfg->inputs[i].how, cfg->inputs[i].file);
}

/* With fd 0, 1 or 2 closed, the next file we open would take its place
 * (the event loop's own descriptor, say).  Fill the gaps with /dev/null:
 * read-only, so that writing to a closed stdout still fails (EBADF). */
static int
fill_stdio(void)
{
    int fd;

    for (fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        if (open("/dev/null", O_RDONLY) != fd)
            return -1;
    }
    return 0;
}

/* Items (or commands, or task objects) typed at a terminal: say so, once,
 * as GNU parallel does, since poolrun would otherwise seem to hang; and in
 * map mode, an empty input there is no call to run COMMAND once (Ctrl-D at
 * once means "nothing"), unlike a file or pipe that is empty.  Returns 1 if
 * one of the inputs is a terminal. */
static int
tell_terminal_input(const struct pr_config *cfg, const int *fds, int nfds)
{
    const char *what = cfg->json           ? "task objects"
                       : cfg->ncommand > 0 ? "items"
                                           : "commands";
    int i;

    for (i = 0; i < nfds; i++) {
        if (!isatty(fds[i]))
            continue;
        fprintf(stderr,
                "poolrun: reading %s from the terminal (Ctrl-D ends them)\n",
                what);
        return 1;
    }
    return 0;
}

/* The tasks of the -f files, checked whole (ids, "after"), and what the
 * first file says of the pool where the command line does not.  Returns
 * NULL after printing why. */
static struct pr_source *
job_files_source(const struct pr_config *cfg, struct pr_pool_config *pool)
{
    struct pr_jobfile jf;
    struct pr_diag d;
    int i;

    pr_jobfile_init(&jf);
    for (i = 0; i < cfg->njob_files; i++) {
        if (pr_jobfile_load(&jf, cfg->job_files[i], &d) != 0)
            break;
    }
    if (i < cfg->njob_files || pr_jobfile_check_ids(&jf, &d) != 0 ||
        pr_jobfile_check_deps(&jf, &d) != 0) {
        fprintf(stderr, "poolrun: %s\n", d.msg);
        pr_jobfile_free(&jf);
        return NULL;
    }
    /* The command line wins over the file. */
    if (jf.jobs >= 0 && !cfg->jobs_set)
        pool->jobs = (unsigned)jf.jobs;
    if (jf.order >= 0 && !cfg->order_set)
        pool->order = (enum pr_queue_order)jf.order;
    pool->deps = pr_jobfile_has_after(&jf);
    /* The files are in memory already: queue them whole, so that an
     * order applies to all of their tasks, and a task held back until
     * a later one has run never keeps that one from being queued. */
    if (pool->deps || pool->order != PR_ORDER_FIFO)
        pool->queue_size = 0;
    return pr_source_tasks_new(&jf);
}

/* Opens input i ("-": a copy of stdin), refusing a folder now rather
 * than after the inputs before it.  Returns the descriptor, or -1 after
 * printing why. */
static int
open_input(const struct pr_config *cfg, int i)
{
    const char *path = cfg->inputs[i].file;
    struct stat st;
    int err = 0;
    int fd = strcmp(path, "-") == 0 ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        err = -errno;
    else if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
        err = UV_EISDIR;
    if (err != 0) {
        char name[256];

        input_name(cfg, i, name, sizeof(name));
        fprintf(stderr, "poolrun: %s: %s\n", name,
                pr_err_text(err));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (strcmp(path, "-") == 0)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

/* Several inputs, --colsep or --header: the inputs are read whole, here,
 * and combined (sources.h).  Returns NULL after printing why. */
static struct pr_source *
make_sources(const struct pr_config *cfg)
{
    struct pr_sources_options so;
    struct pr_source *src;
    regex_t re;
    char msg[256];
    int i, rc = 0, told = 0, zero = 0;

    if (cfg->colsep != NULL) {
        if (pr_sources_colsep(&re, cfg->colsep, msg, sizeof(msg)) != 0) {
            fprintf(stderr, "poolrun: --colsep '%s': %s\n", cfg->colsep, msg);
            return NULL;
        }
        regfree(&re);
    }
    memset(&so, 0, sizeof(so));
    so.delim = cfg->delim;
    so.sentinel = cfg->sentinel;
    so.link = cfg->link;
    so.colsep = cfg->colsep;
    so.header = cfg->header != NULL;
    so.run_once_if_empty = !cfg->no_run_if_empty && !cfg->parallel_empty;
    src = pr_sources_new(&so);
    if (cfg->ninputs == 0)
        told = tell_terminal_input(cfg, &zero, 1);
    if (cfg->ninputs == 0 && (rc = pr_sources_add_fd(src, 0, 0)) != 0)
        fprintf(stderr, "poolrun: stdin: %s\n", pr_err_text(rc));
    for (i = 0; rc == 0 && i < cfg->ninputs; i++) {
        const struct pr_input *in = &cfg->inputs[i];
        int fd;

        if (in->file == NULL) {
            pr_sources_add_items(src, in->items, in->nitems, in->linked);
            continue;
        }
        if ((fd = open_input(cfg, i)) < 0) {
            rc = -1;
            break;
        }
        if (!told)
            told = tell_terminal_input(cfg, &fd, 1);
        if ((rc = pr_sources_add_fd(src, fd, in->linked)) != 0)
            fprintf(stderr, "poolrun: %s %s: %s\n", in->how, in->file,
                    pr_err_text(rc));
        close(fd);
    }
    if (rc == 0)
        return src;
    pr_source_free(src);
    return NULL;
}

static int
several_inputs(const struct pr_config *cfg)
{
    return cfg->ninputs > 1 || cfg->colsep != NULL || cfg->header != NULL;
}

/* The tasks' source: ::: items, an -a or :::: file, or stdin, read as
 * they come; or several inputs combined.  Files are opened here, so that
 * a missing one stops poolrun before anything runs.  Returns NULL after
 * printing why. */
static struct pr_source *
make_source(uv_loop_t *loop, const struct pr_config *cfg,
            struct pr_pool_config *pool, int *lines)
{
    struct pr_source_lines_options o;
    int fd;

    if (cfg->njob_files > 0)
        return job_files_source(cfg, pool);
    /* A --json line may run after an earlier one. */
    pool->deps = cfg->json;
    if (cfg->pipe) {
        struct pr_source_pipe_options po = {cfg->block, cfg->recend,
                                            cfg->recend_len};

        /* --pipepart -a FILE: the file's blocks, spliced as stdin's. */
        if (cfg->ninputs == 1 && (fd = open_input(cfg, 0)) < 0)
            return NULL;
        return pr_source_pipe_new(loop, cfg->ninputs == 1 ? fd : 0, &po);
    }
    memset(&o, 0, sizeof(o));
    o.delim = cfg->delim;
    o.json_name = cfg->json ? "<stdin>" : NULL;
    o.per_task = cfg->per_task;
    o.sentinel = cfg->sentinel;
    o.run_once_if_empty =
        cfg->ncommand > 0 && !cfg->no_run_if_empty && !cfg->parallel_empty;
    o.keep_long = cfg->ncommand == 0 && cfg->pool.workers == NULL;
    if (several_inputs(cfg))
        return make_sources(cfg);
    if (cfg->have_args)
        return pr_source_args_new(cfg->args, cfg->nargs, &o);
    *lines = 1;
    if (cfg->ninputs == 0) {
        int zero = 0;

        if (tell_terminal_input(cfg, &zero, 1))
            o.run_once_if_empty = 0;
        return pr_source_lines_new(loop, &zero, 1, &o);
    }
    if ((fd = open_input(cfg, 0)) < 0)
        return NULL;
    if (tell_terminal_input(cfg, &fd, 1))
        o.run_once_if_empty = 0;
    return pr_source_lines_new(loop, &fd, 1, &o);
}

/* Rows of the job log that --resume cannot read are skipped (their tasks
 * run again, as GNU parallel's do) and named on stderr; past a few, only
 * counted, so that a damaged log does not bury the rest. */
#define RESUME_SKIPS_SHOWN 10

struct resume_skips {
    const char *joblog;
    unsigned long n;
};

static void
on_resume_skip(void *data, unsigned long line, enum pr_resume_skip why)
{
    struct resume_skips *skips = data;

    if (why == PR_RESUME_TORN)
        fprintf(stderr,
                "poolrun: --resume: %s:%lu: the last line is not a "
                "whole row (cut short?): skipped\n",
                skips->joblog, line);
    else if (++skips->n <= RESUME_SKIPS_SHOWN)
        fprintf(stderr,
                "poolrun: --resume: %s:%lu: not a row of a job log: "
                "skipped\n",
                skips->joblog, line);
}

/* --resume: reads the job log into done and tells what it skipped, and of
 * a results file that ends in a record cut short (left as it is: the
 * writer starts on the next line).  Returns 0, or -1 once it has said why
 * the run cannot go on. */
static int
read_resume(const struct pr_config *cfg, struct pr_seqset *done)
{
    struct resume_skips skips = {cfg->pool.joblog, 0};
    unsigned long bad = 0, line = 0;
    int rc;

    rc = pr_resume_read(cfg->pool.joblog, cfg->resume_failed, done,
                        on_resume_skip, &skips, &bad);
    if (rc != 0 && bad != 0) {
        fprintf(stderr,
                "poolrun: --resume: %s:%lu: not a job log (its "
                "first line is not the header)\n",
                cfg->pool.joblog, bad);
        return -1;
    }
    if (rc != 0) {
        fprintf(stderr, "poolrun: --resume: %s: %s\n", cfg->pool.joblog,
                pr_err_text(rc));
        return -1;
    }
    if (skips.n > RESUME_SKIPS_SHOWN)
        fprintf(stderr,
                "poolrun: --resume: %s: %lu more lines that are not "
                "rows of a job log: skipped\n",
                cfg->pool.joblog, skips.n - RESUME_SKIPS_SHOWN);
    if (cfg->pool.results == NULL || cfg->pool.results_dir)
        return 0;
    rc = pr_results_torn_line(cfg->pool.results, &line);
    if (rc != 0) {
        fprintf(stderr, "poolrun: --results %s: %s\n", cfg->pool.results,
                pr_err_text(rc));
        return -1;
    }
    if (line != 0)
        fprintf(stderr,
                "poolrun: --resume: %s:%lu: the last record is cut "
                "short: left as it is, new records start on the next line\n",
                cfg->pool.results, line);
    return 0;
}

/* What a run holds, set up by prepare() and let go of by teardown() alone,
 * whatever part of it was set up. */
struct run {
    struct pr_template *command;
    struct pr_template *tagstring;
    uv_loop_t loop;
    int loop_open;
    struct pr_source *src;
    int lines; /* src reads lines (stdin or -a files) */
    struct pr_seqset done;
    struct pr_pool *pool;
    uv_signal_t sigs[3]; /* SIGINT, SIGTERM, SIGHUP */
    int nsigs;
    uv_signal_t usr1; /* SIGUSR1: the status on stderr */
    int usr1_open;
    struct pr_join_waiter joined;
    /* poolrun worker: the source it was given, and SIGINT or SIGTERM
     * drain first (the source hands back what has not started) and stop
     * the tasks still running only after the grace. */
    struct pr_source *given;
    double grace;
    int stop_sig; /* the signal that began the drain, or 0 */
    uv_timer_t grace_timer;
    int grace_open;
};

static const int handled_signals[3] = {SIGINT, SIGTERM, SIGHUP};

static void
on_grace_over(uv_timer_t *t)
{
    struct run *r = t->data;

    pr_pool_signal(r->pool, r->stop_sig);
}

static void
on_signal(uv_signal_t *handle, int signum)
{
    struct run *r = handle->data;

    if (r->given != NULL && signum != SIGHUP && r->stop_sig == 0) {
        /* The timer first: the pool may close at once, closing it. */
        r->stop_sig = signum;
        uv_timer_init(&r->loop, &r->grace_timer);
        r->grace_timer.data = r;
        r->grace_open = 1;
        uv_timer_start(&r->grace_timer, on_grace_over,
                       pr_seconds_to_ms(r->grace), 0);
        pr_pool_signal(r->pool, SIGHUP);
        return;
    }
    pr_pool_signal(r->pool, signum);
}

/* SIGUSR1: the running tasks and the counts, as GNU parallel lists its
 * running jobs; on the loop, behind what already waits for stderr, so the
 * run itself does not notice.  While that much waits for a reader that
 * does not read, a status is left out: a stream of SIGUSR1 must not grow
 * the memory without bound. */
static void
on_status_signal(uv_signal_t *handle, int signum)
{
    struct run *r = handle->data;
    struct pr_buf b = {0};

    if (pr_pool_output_congested(r->pool))
        return;
    pr_status_report(&b, "poolrun: ", r->pool);
    pr_pool_message(r->pool, b.data, b.len);
    pr_buf_free(&b);
}

static void
watch_signals(struct run *r)
{
    int i;

    for (i = 0; i < 3; i++) {
        uv_signal_init(&r->loop, &r->sigs[i]);
        r->sigs[i].data = r;
        uv_signal_start(&r->sigs[i], on_signal, handled_signals[i]);
        r->nsigs++;
    }
    uv_signal_init(&r->loop, &r->usr1);
    r->usr1.data = r;
    uv_signal_start(&r->usr1, on_status_signal, SIGUSR1);
    r->usr1_open = 1;
}

/* Closing the handle gives SIGUSR1 back its default action, which kills:
 * from here to the exit it is ignored again, as before the run (main).
 * Blocked in between, so that one sent then waits and is ignored, never
 * taken by the default action. */
static void
unwatch_status(struct run *r)
{
    sigset_t usr1, old;

    if (!r->usr1_open)
        return;
    r->usr1_open = 0;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    uv_close((uv_handle_t *)&r->usr1, NULL);
    signal(SIGUSR1, SIG_IGN);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

/* The pool has closed its handles: ours go too, and the loop ends. */
static void
on_pool_closed(void *data)
{
    struct run *r = data;
    int i;

    for (i = 0; i < r->nsigs; i++)
        if (!uv_is_closing((uv_handle_t *)&r->sigs[i]))
            uv_close((uv_handle_t *)&r->sigs[i], NULL);
    unwatch_status(r);
    if (r->grace_open)
        uv_close((uv_handle_t *)&r->grace_timer, NULL);
    r->grace_open = 0;
}

static void
on_joined(void *data)
{
    struct run *r = data;

    pr_pool_close(r->pool, on_pool_closed, r);
}

/* The one-shot command is one batch: once its input has ended, the batch's
 * join (every task and its callback done) ends the run. */
static void
on_input_end(void *data)
{
    struct run *r = data;

    pr_batch_join(pr_pool_batch(r->pool), &r->joined, on_joined, r);
}

/* COMMAND and --tagstring, which may name --header's positions.
 * Returns 0, or -1 after printing why. */
static int
make_templates(struct run *r, struct pr_config *cfg)
{
    struct pr_template_options to;
    struct pr_template_diag tdiag;

    memset(&to, 0, sizeof(to));
    to.words = cfg->command;
    to.nwords = cfg->ncommand;
    to.replace = cfg->replace;
    to.force_shell = cfg->force_shell;
    to.no_args = cfg->no_args;
    if (r->given == NULL && cfg->header != NULL)
        to.nnames = pr_sources_names(r->src, &to.names);
    if (pr_template_new(&r->command, &to, &tdiag) != 0) {
        fprintf(stderr, "poolrun: %s\n", tdiag.msg);
        return -1;
    }
    cfg->pool.command = r->command;
    if (cfg->tagstring == NULL)
        return 0;
    to.words = (char **)(uintptr_t)&cfg->tagstring;
    to.nwords = 1;
    to.text = 1;
    to.force_shell = 0;
    to.no_args = 0;
    if (pr_template_new(&r->tagstring, &to, &tdiag) != 0) {
        fprintf(stderr, "poolrun: --tagstring: %s\n", tdiag.msg);
        return -1;
    }
    cfg->pool.tagstring = r->tagstring;
    return 0;
}

/* Sets up the run in r: COMMAND, the loop, the source, --resume's job log
 * and the pool.  Returns 0, or -1 after printing why (r then holds what
 * was set up, for teardown). */
static int
prepare(struct run *r, struct pr_config *cfg)
{
    const char *which = NULL;
    int rc;

    /* Tasks get fds 0-2 and nothing else, not even what we inherited. */
    pr_sys_cloexec_from(3);
    if (!r->loop_open) {
        fprintf(stderr, "poolrun: cannot start the event loop\n");
        return -1;
    }
    r->src = r->given != NULL
                 ? r->given
                 : make_source(&r->loop, cfg, &cfg->pool, &r->lines);
    if (r->src == NULL)
        return -1;
    /* After the source: --header's names come from the inputs. */
    if (make_templates(r, cfg) != 0)
        return -1;
    if (r->given == NULL && several_inputs(cfg)) {
        cfg->pool.results_positions = 1;
        if (cfg->header != NULL)
            cfg->pool.results_nnames =
                pr_sources_names(r->src, &cfg->pool.results_names);
    }
    if (cfg->pool.resume) {
        if (read_resume(cfg, &r->done) != 0)
            return -1;
        cfg->pool.resume_done = &r->done;
    }
    cfg->pool.on_throttle = on_throttle;
    cfg->pool.on_worker_exit = on_worker_exit;
    cfg->pool.on_input_end = on_input_end;
    if (cfg->verbose)
        cfg->pool.on_task_start = on_task_verbose;
    cfg->pool.event_data = r;
    rc = pr_pool_new(&r->pool, &r->loop, &cfg->pool, &which);
    if (rc != 0 && strcmp(which, "--results") == 0 && cfg->pool.results_dir) {
        fprintf(stderr, "poolrun: --results %s: cannot make this folder: %s\n",
                cfg->pool.results, pr_err_text(rc));
        return -1;
    }
    if (rc != 0) {
        fprintf(stderr, "poolrun: %s %s: %s\n", which,
                strcmp(which, "--joblog") == 0 ? cfg->pool.joblog
                                               : cfg->pool.results,
                pr_err_text(rc));
        return -1;
    }
    pr_pool_add_sink(r->pool, &messages, NULL);
    return 0;
}

/* The one way out of a run.  The handles live in the pool's and the
 * source's memory, so the loop lets go of them (and checks that every one
 * was closed) before anything is freed; if one was left open, the loop
 * may still point into the run's memory: all of it is kept, and the run
 * fails.  Returns 0 or -1. */
static int
teardown(struct run *r)
{
    if (r->loop_open && uv_loop_close(&r->loop) != 0) {
        fprintf(stderr, "poolrun: internal error: handles left open at exit\n");
        return -1;
    }
    if (r->src != NULL)
        r->src->ops->free(r->src);
    pr_pool_free(r->pool);
    pr_seqset_free(&r->done);
    pr_template_free(r->command);
    pr_template_free(r->tagstring);
    return 0;
}

/* A lines source's read error, named by its input ("stdin", "-a FILE");
 * --pipe's, by stdin. */
static void
name_failed_input(const struct run *r, const struct pr_config *cfg,
                  struct pr_pool_result *res)
{
    char name[256];
    int i;

    if (cfg->pipe && res->input_error != 0 && res->input_msg[0] == '\0') {
        snprintf(res->input_msg, sizeof(res->input_msg), "stdin: %s",
                 pr_err_text(res->input_error));
        return;
    }
    if (!r->lines || res->input_error == 0 || res->input_msg[0] != '\0')
        return;
    i = pr_source_lines_failed_input(r->src);
    if (i < 0)
        return;
    input_name(cfg, i, name, sizeof(name));
    snprintf(res->input_msg, sizeof(res->input_msg), "%s: %s", name,
             pr_err_text(res->input_error));
}

static int
run(struct pr_config *cfg, struct pr_pool_result *res,
    struct pr_source *(*given)(uv_loop_t *loop, void *data), void *data)
{
    struct run r;
    int ready, nothing_ran;

    memset(&r, 0, sizeof(r));
    r.grace = cfg->workers.grace;
    ready = uv_loop_init(&r.loop) == 0;
    r.loop_open = ready;
    if (ready && given != NULL && (r.given = given(&r.loop, data)) == NULL)
        ready = 0;
    r.src = r.given; /* the run frees it, even if prepare fails */
    ready = ready && prepare(&r, cfg) == 0;
    if (ready) {
        msg_pool = r.pool;
        watch_signals(&r);
        pr_pool_start(r.pool, r.src, res);
        uv_run(&r.loop, UV_RUN_DEFAULT);
        msg_pool = NULL;
        /* Stopped by a signal: what stderr cannot take at once is
         * dropped, as the output waiting for stdout was. */
        msg_no_wait = res->stop == PR_STOP_SIGNAL ||
                      res->stop == PR_STOP_OUTPUT;
        name_failed_input(&r, cfg, res);
    }
    if (teardown(&r) != 0 || !ready)
        return EXIT_OWN_ERROR;
    if (res->escapees != 0)
        say("poolrun: %llu process%s had left %s task's process "
                "group and still ran at the end: ended (SIGTERM, then "
                "SIGKILL)\n", (unsigned long long)res->escapees,
                res->escapees == 1 ? "" : "es",
                res->escapees == 1 ? "its" : "their");
    if (res->stop == PR_STOP_HALT)
        say_halted(cfg, res);
    /* Workers that cannot start: their one line says it all. */
    nothing_ran = res->stop == PR_STOP_FATAL &&
                  res->tally.counts[PR_TASK_SKIPPED] == res->tally.total;
    if (cfg->summary ||
        (!nothing_ran &&
         (res->services_failed != 0 ||
          res->tally.counts[PR_TASK_OK] + res->resumed != res->tally.total)))
        print_summary(res);
    /* A worker told to stop, that stopped: as a one-shot stopped by it. */
    if (r.stop_sig != 0 && res->input_msg[0] == '\0' &&
        (res->stop == PR_STOP_DRAIN || res->stop == PR_STOP_SIGNAL))
        return EXIT_SIGNAL_BASE + r.stop_sig;
    return exit_status(res, cfg->exit_policy);
}

void
pr_main_say(const char *line)
{
    say("%s\n", line);
}

int
pr_main_run_worker(struct pr_config *cfg,
                   struct pr_source *(*src)(uv_loop_t *loop, void *data),
                   void *data)
{
    struct pr_pool_result res;

    return run(cfg, &res, src, data);
}

int
main(int argc, char **argv)
{
    struct pr_config cfg;
    struct pr_pool_result res;
    char err[512];
    int status;

    /* A closed stdout must show up as EPIPE from write(), not kill us. */
    signal(SIGPIPE, SIG_IGN);
    /* SIGUSR1 asks a run for its status (on the loop, once the run has
     * begun); before that, and in the verbs, it must not kill us.  Tasks
     * get it back at its default (sys.c, libuv's spawn). */
    signal(SIGUSR1, SIG_IGN);
    if (fill_stdio() != 0)
        return EXIT_OWN_ERROR;
    /* serve, submit, status...: the queue service and its clients. */
    if (pr_verb_run(argc, argv, &status))
        return status;
    if (pr_options_parse(argc, argv, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "poolrun: %s\nTry 'poolrun --help'.\n", err);
        status = EXIT_OWN_ERROR;
    } else if (cfg.show_help) {
        pr_options_usage(stdout);
        status = finish_stdout();
    } else if (cfg.show_version) {
        printf("poolrun %s\nRedis queues (poolrun worker): %s\n", PR_VERSION,
               pr_rq_built_in() ? "yes" : "no (built without hiredis)");
        status = finish_stdout();
    } else {
        status = run(&cfg, &res, NULL, NULL);
    }
    pr_options_free(&cfg);
    return status;
}
