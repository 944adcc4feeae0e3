/*
 * run_spawn: one process per task.  The task runs as `/bin/sh -c LINE` in a
 * new session (UV_PROCESS_DETACHED), so its whole process group can be
 * signalled.  Its stdout and stderr come back through pipes.  When the main
 * process exits, what is left of its group gets SIGTERM and, after the
 * grace, SIGKILL; the pipes are then read to the end.  The process, both
 * pipes and the timer each close once, and the last close ends the task.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner.h"
#include "proc.h"
#include "feed.h"
#include "exitclock.h"
#include "sys.h"
#include "template.h"
#include "util.h"

/* Linux refuses one argument of 128 KiB or more (MAX_ARG_STRLEN). */
#define MAX_ARG_LEN (128 * 1024 - 1)
/* A long line is copied to its script (or printed, with --dry-run) from
 * its file this much at a time. */
#define SCRIPT_CHUNK ((size_t)64 * 1024)
/* Every task's pipes are read into one buffer, consumed at once. */
#define READ_BUF_SIZE ((size_t)64 * 1024)

struct spawn_runner {
    struct pr_runner base;
    const struct pr_spawn_ctx *ctx;
    struct pr_list runs; /* every spawn_run of this runner */
};

struct spawn_run {
    const struct pr_spawn_ctx *ctx;
    const struct pr_runner_up *up;
    struct pr_list node; /* in spawn_runner.runs */
    struct pr_task *task;
    uv_process_t proc;   /* the portable path: uv_spawn */
    uv_poll_t pidpoll;   /* the fast path: a pidfd that turns readable */
    int pidfd;
    int exit_ticket;     /* its watch on ctx->exitclock, or -1 */
    int fast;            /* started by pr_sys_spawn, watched by pidpoll */
    uv_pipe_t pipes[2];
    struct pr_proc_end end; /* the group's end, once the process exits */
    uv_timer_t deadline;    /* the task's timeout, then its SIGKILL */
    int has_deadline;
    int open_handles;
    int pipe_open[2];
    int running;      /* the main process has not exited */
    int paused[2];    /* pipes not read for now: stdout is full */
    uint64_t term_at; /* uv_now() when the timeout sent SIGTERM */
    int in_fd;        /* the child's stdin: the task's stdin_fd, or the
                         read end of feed's pipe (--pipe), or -1 */
    struct pr_feed feed; /* --pipe: writes the task's block to its stdin */
};

static char dash_c[] = "-c";
static char dev_fd_3[] = "/dev/fd/3";
/* A long line runs from a file on fd 3; the script first closes fd 3 so
 * that the task and its children see only 0, 1 and 2. */
static const char script_prologue[] = "exec 3<&-\n";

static void
on_handle_closed(uv_handle_t *handle)
{
    struct spawn_run *run = handle->data;

    if (--run->open_handles == 0) {
        struct pr_task *task = run->task;
        const struct pr_runner_up *up = run->up;

        task->run = NULL;
        pr_list_remove(&run->node);
        free(run);
        up->ended(up->data, task);
    }
}

static void
close_handle(uv_handle_t *handle)
{
    if (!uv_is_closing(handle))
        uv_close(handle, on_handle_closed);
}

static int
pipes_open(const struct spawn_run *run)
{
    return run->pipe_open[0] || run->pipe_open[1];
}

static void
close_pipe(struct spawn_run *run, int i)
{
    if (!run->pipe_open[i])
        return;
    run->pipe_open[i] = 0;
    uv_read_stop((uv_stream_t *)&run->pipes[i]);
    close_handle((uv_handle_t *)&run->pipes[i]);
}

/* Once the process and its group are gone and both pipes are closed, the
 * timers are the last handles left: closing them ends the task. */
static void
maybe_wrap_up(struct spawn_run *run)
{
    if (run->running || !pr_proc_end_settled(&run->end))
        return;
    /* No process of the task is left to read the rest of its block (one
     * that escaped its group may hold the pipe, unread): the write ends
     * with UV_ECANCELED. */
    pr_feed_close(&run->feed);
    if (run->has_deadline)
        close_handle((uv_handle_t *)&run->deadline);
    pr_proc_end_close(&run->end, on_handle_closed);
}

static void read_again(struct spawn_run *run, int i);

static int
end_pipes_open(void *data)
{
    return pipes_open(data);
}

static void
end_cut_pipes(void *data)
{
    close_pipe(data, 0);
    close_pipe(data, 1);
}

static void
end_settled(void *data)
{
    maybe_wrap_up(data);
}

static const struct pr_proc_end_ops end_ops = {end_pipes_open, end_cut_pipes,
                                               end_settled};

/* Is there still a process of the task to signal? */
static int
has_processes(const struct spawn_run *run)
{
    return run->running || pr_proc_end_group_alive(&run->end);
}

/* The task's time is up: SIGTERM to its whole group now, SIGKILL after
 * the grace if anything of it is left. */
/* Has the task's main process exited, though its end may not have been
 * seen yet (the loop was held up)? */
static int
main_exited(const struct pr_task *task)
{
    const struct spawn_run *run = task->run;

    if (run == NULL || task->pid <= 0 || !run->running)
        return 1;
    return pr_sys_exited(task->pid) == 1;
}

static void
on_deadline(uv_timer_t *timer)
{
    struct spawn_run *run = timer->data;
    struct pr_task *task = run->task;

    if (!has_processes(run))
        return;
    /* The loop may have been held up (a stopped poolrun, a slow disk) past
     * the deadline: a task that has exited by now ended on its own, and
     * its exit is handled in this same turn of the loop. */
    if (!task->timed_out && main_exited(task))
        return;
    if (!task->timed_out) {
        task->timed_out = 1;
        task->signalled = SIGTERM;
        run->term_at = uv_now(timer->loop);
        pr_proc_signal_group(task->pid, SIGTERM);
        uv_timer_start(timer, on_deadline,
                       (uint64_t)(run->ctx->kill_after * 1000), 0);
        return;
    }
    task->signalled = SIGKILL;
    kill(-task->pid, SIGKILL);
}

/* The main process is gone: note how it ended, then end what it left in
 * its group. */
static void
process_exited(struct spawn_run *run, int exit_status, int term_signal,
               uint64_t exit_ns)
{
    /* The task's runtime ends here, not at its record: that waits for the
     * pipes' EOF and, in a burst of ends, for the tasks recorded and
     * started before it.  The kernel keeps no exit time a parent can read
     * cheaply (only taskstats has it): the fast path's exit clock noted
     * when its pidfd turned readable, however busy the loop was then;
     * otherwise it is now. */
    run->task->end_ns = exit_ns != 0 ? exit_ns : uv_hrtime();
    run->task->exit_status = exit_status;
    run->task->term_signal = term_signal;
    /* Not read while stdout was full: its end must not wait for the
     * reader, and what its group can still write is bounded now. */
    if (run->paused[0])
        read_again(run, 0);
    if (run->paused[1])
        read_again(run, 1);
    run->running = 0;
    if (run->has_deadline)
        uv_timer_stop(&run->deadline);
    /* After a timeout the grace began with its SIGTERM. */
    pr_proc_end_exited(&run->end, run->task->pid,
                       run->task->timed_out ? run->term_at : 0);
}

static void
on_proc_exit(uv_process_t *proc, int64_t exit_status, int term_signal)
{
    struct spawn_run *run = proc->data;

    close_handle((uv_handle_t *)proc);
    process_exited(run, (int)exit_status, term_signal, 0);
}

static void
on_pidpoll_closed(uv_handle_t *handle)
{
    struct spawn_run *run = handle->data;

    close(run->pidfd);
    run->pidfd = -1;
    on_handle_closed(handle);
}

static void
on_pidfd(uv_poll_t *poll, int status, int events)
{
    struct spawn_run *run = poll->data;
    int exit_status = 0;
    int term_signal = 0;
    int rc = pr_sys_reap(run->task->pid, &exit_status, &term_signal);
    uint64_t exit_ns;

    (void)status;
    (void)events;
    if (rc == 0)
        return; /* not yet */
    exit_ns = pr_exitclock_take(run->ctx->exitclock, run->exit_ticket);
    run->exit_ticket = -1;
    uv_poll_stop(poll);
    uv_close((uv_handle_t *)poll, on_pidpoll_closed);
    if (rc < 0)
        term_signal = SIGKILL; /* cannot tell; it is gone in any case */
    process_exited(run, exit_status, term_signal, exit_ns);
}

/* libuv asks for a buffer just before it reads: output that may go out
 * untouched is first spliced on, so that its read finds the pipe empty (or
 * at EOF) and the bytes never pass through poolrun's memory. */
static void
on_pipe_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct spawn_run *run = handle->data;
    int i = handle == (uv_handle_t *)&run->pipes[0] ? 0 : 1;
    uv_os_fd_t fd;

    (void)suggested;
    buf->base = run->ctx->read_buf;
    buf->len = run->ctx->read_buf_size;
    if (run->fast && uv_fileno(handle, &fd) == 0)
        run->up->splice(run->up->data, run->task, i + 1, fd);
}

static void
on_pipe_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct spawn_run *run = stream->data;
    int i = stream == (uv_stream_t *)&run->pipes[0] ? 0 : 1;

    if (n > 0) {
        run->up->output(run->up->data, run->task, i + 1, buf->base,
                             (size_t)n);
        return;
    }
    if (n == 0)
        return;
    /* EOF, or a read error: either way this stream is over. */
    close_pipe(run, i);
    if (!pipes_open(run))
        pr_proc_end_pipes_closed(&run->end);
}

/* Copies the n bytes of the file `from` (from its start) to fd. */
static int
copy_file(int fd, int from, uint64_t n)
{
    char *buf = pr_xmalloc(SCRIPT_CHUNK);
    uint64_t off = 0;
    int rc = 0;

    while (rc == 0 && off < n) {
        size_t want = n - off < SCRIPT_CHUNK ? (size_t)(n - off) : SCRIPT_CHUNK;
        ssize_t r = pread(from, buf, want, (off_t)off);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            /* The file is ours and holds n bytes: short is an I/O error. */
            rc = r < 0 ? -errno : UV_EIO;
            break;
        }
        rc = pr_write_all(fd, buf, (size_t)r);
        off += (uint64_t)r;
    }
    free(buf);
    return rc;
}

/* Writes the long line to a private file for the shell to read: from
 * memory, or from the file a line too long for memory arrived in. */
static int
write_script(const struct pr_task *task)
{
    int fd = pr_tmpfile();
    int rc;

    if (fd < 0)
        return fd;
    rc = pr_write_all(fd, script_prologue, sizeof(script_prologue) - 1);
    if (rc == 0 && task->long_fd >= 0)
        rc = copy_file(fd, task->long_fd, task->long_len);
    else if (rc == 0)
        rc = pr_write_all(fd, task->line, task->line_len);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    return fd;
}

/* The environment of a task with its own "env": ours, less what it removes
 * or replaces, plus what it sets, plus POOLRUN_SEQ and POOLRUN_SLOT.  The
 * strings are borrowed; free only the array. */
static char **
task_env(const struct pr_spawn_ctx *ctx, char *const *ops, char *seq_var,
         char *slot_var)
{
    size_t nops = 0, n = 0, i, k;
    char **env;

    while (ops[nops] != NULL)
        nops++;
    env = pr_xcalloc(ctx->env_seq + nops + 3, sizeof(char *));
    for (i = 0; i < ctx->env_seq; i++) {
        const char *e = ctx->env[i];
        size_t klen = strcspn(e, "=");
        int replaced = 0;

        for (k = 0; k < nops && !replaced; k++)
            replaced = strncmp(ops[k], e, klen) == 0 &&
                       (ops[k][klen] == '=' || ops[k][klen] == '\0');
        if (!replaced)
            env[n++] = ctx->env[i];
    }
    for (k = 0; k < nops; k++)
        if (strchr(ops[k], '=') != NULL)
            env[n++] = ops[k];
    env[n++] = seq_var;
    env[n++] = slot_var;
    env[n] = NULL;
    return env;
}

/* A job file's cwd that is not a folder we can enter fails the task
 * before it starts (libuv would report it as a missing command). */
static int
check_cwd(struct pr_task *task)
{
    struct stat st;

    if (stat(task->spec->cwd, &st) != 0) {
        task->error_what = PR_ERR_CWD;
        task->exit_status = 126;
        return -errno;
    }
    if (!S_ISDIR(st.st_mode)) {
        task->error_what = PR_ERR_CWD;
        task->exit_status = 126;
        return UV_ENOTDIR;
    }
    return 0;
}

/* The fast spawn looks a name up in poolrun's PATH, uv_spawn in the task's:
 * a task that sets its own PATH takes the portable path. */
static int
fast_path_ok(const struct pr_task *task)
{
    size_t i;

    if (!pr_sys_spawn_available())
        return 0;
    if (task->spec == NULL || task->spec->env == NULL)
        return 1;
    for (i = 0; task->spec->env[i] != NULL; i++)
        if (strncmp(task->spec->env[i], "PATH", 4) == 0 &&
            (task->spec->env[i][4] == '=' || task->spec->env[i][4] == '\0'))
            return 0;
    return 1;
}

/* The full path execvp would run for name (a regular file it may
 * execute), or NULL. */
static char *
find_in_path(const char *name)
{
    const char *path = getenv("PATH");
    struct pr_buf b = {0};
    struct stat st;

    if (strchr(name, '/') != NULL)
        return pr_xstrdup(name);
    if (path == NULL)
        path = "/usr/bin:/bin";
    while (*path != '\0') {
        size_t n = strcspn(path, ":");

        b.len = 0;
        pr_buf_append(&b, n ? path : ".", n ? n : 1);
        pr_buf_append(&b, "/", 1);
        pr_buf_append(&b, name, strlen(name) + 1);
        if (access(b.data, X_OK) == 0 && stat(b.data, &st) == 0 &&
            S_ISREG(st.st_mode))
            return b.data;
        path += n;
        if (*path == ':')
            path++;
    }
    pr_buf_free(&b);
    return NULL;
}

/* Each PATH search costs the child a failed execve for every directory
 * before the command's, and poolrun waits for the child until its exec
 * (vfork): with ten directories ahead of /usr/bin that was nine calls a
 * task.  So a name is looked up once a run, as a shell's hash table does;
 * one not found is looked up again each time. */
#define PATH_CACHE_MAX 64

struct pr_path_cache {
    size_t n;
    char *names[PATH_CACHE_MAX];
    char *paths[PATH_CACHE_MAX];
};

static struct pr_path_cache *
path_cache_new(void)
{
    return pr_xcalloc(1, sizeof(struct pr_path_cache));
}

static void
path_cache_free(struct pr_path_cache *c)
{
    size_t i;

    if (c == NULL)
        return;
    for (i = 0; i < c->n; i++) {
        free(c->names[i]);
        free(c->paths[i]);
    }
    free(c);
}

/* The file found for name is gone: it is searched again next time. */
static void
forget_path(struct pr_path_cache *c, const char *name)
{
    size_t i;

    for (i = 0; c != NULL && i < c->n; i++)
        if (strcmp(c->names[i], name) == 0) {
            free(c->names[i]);
            free(c->paths[i]);
            c->n--;
            c->names[i] = c->names[c->n];
            c->paths[i] = c->paths[c->n];
            return;
        }
}

/* The full path to run for name, or name itself (a path already, or not
 * found: execvp then searches and reports as usual).  Borrowed. */
static const char *
cached_path(struct pr_path_cache *c, const char *name)
{
    char *path;
    size_t i;

    if (c == NULL || strchr(name, '/') != NULL)
        return name;
    for (i = 0; i < c->n; i++)
        if (strcmp(c->names[i], name) == 0)
            return c->paths[i];
    path = find_in_path(name);
    if (path == NULL)
        return name;
    if (path[0] != '/' || c->n == PATH_CACHE_MAX) {
        /* Found through a relative PATH entry, which the child resolves
         * in its own cwd; or the cache is full: searched each time. */
        free(path);
        return name;
    }
    c->names[c->n] = pr_xstrdup(name);
    c->paths[c->n] = path;
    return c->paths[c->n++];
}

static void
stamp_start(struct pr_task *task)
{
    task->start_ns = uv_hrtime();
    task->start_wall = pr_wall_time();
}

/* The task's stdout and stderr pipes.  Out of descriptors, the exit clock
 * gives its two up first: a task that starts matters more than when it
 * is seen to end. */
static int
task_pipes(const struct pr_spawn_ctx *ctx, int out[2], int err[2])
{
    int rc = pr_sys_pipe(out);

    if (rc == 0) {
        rc = pr_sys_pipe(err);
        if (rc != 0) {
            close(out[0]);
            close(out[1]);
        }
    }
    if ((rc == UV_EMFILE || rc == UV_ENFILE) &&
        pr_exitclock_shed(ctx->exitclock))
        return task_pipes(ctx, out, err);
    return rc;
}

/* vfork-style spawn with plain pipes and a pidfd on the loop: no fork()
 * of poolrun's memory and no SIGCHLD handling. */
static int
fast_spawn(struct spawn_run *run, const uv_process_options_t *opts,
           int script_fd)
{
    const struct pr_spawn_ctx *ctx = run->ctx;
    struct pr_sys_spawn so;
    int out[2], err[2];
    int pid = 0, pidfd = -1;
    int rc;

    rc = task_pipes(ctx, out, err);
    if (rc != 0)
        return rc;
    so.file = cached_path(ctx->paths, opts->file);
    so.argv = opts->args;
    so.envp = opts->env;
    so.cwd = opts->cwd;
    so.in_fd = run->in_fd;
    so.out_fd = out[1];
    so.err_fd = err[1];
    so.fd3 = script_fd;
    rc = pr_sys_spawn(&so, &pid, &pidfd);
    if (rc == -ENOENT && so.file != opts->file) {
        forget_path(ctx->paths, opts->file);
        so.file = opts->file;
        rc = pr_sys_spawn(&so, &pid, &pidfd);
    }
    close(out[1]);
    close(err[1]);
    if (rc == 0) {
        stamp_start(run->task); /* before its exit can be noted */
        rc = uv_pipe_open(&run->pipes[0], out[0]);
        if (rc == 0)
            out[0] = -1;
    }
    if (rc == 0) {
        rc = uv_pipe_open(&run->pipes[1], err[0]);
        if (rc == 0)
            err[0] = -1;
    }
    if (out[0] >= 0)
        close(out[0]);
    if (err[0] >= 0)
        close(err[0]);
    if (rc != 0) {
        if (pidfd >= 0) {
            /* Started but cannot be read: it must not run unwatched. */
            int st, sig;

            kill(-pid, SIGKILL);
            while (pr_sys_reap(pid, &st, &sig) == 0)
                ;
            close(pidfd);
        }
        return rc;
    }
    run->pidfd = pidfd;
    uv_poll_init(ctx->loop, &run->pidpoll, pidfd);
    run->pidpoll.data = run;
    run->fast = 1;
    run->proc.pid = pid;
    uv_poll_start(&run->pidpoll, UV_READABLE, on_pidfd);
    run->exit_ticket = pr_exitclock_watch(ctx->exitclock, pidfd);
    return 0;
}

/* An executable file without "#!" is a shell script, as execvp and the
 * shell treat it: run it with /bin/sh. */
static int
spawn_as_script(struct spawn_run *run, const uv_process_options_t *opts)
{
    uv_process_options_t o = *opts;
    char *file = find_in_path(opts->args[0]);
    char **args;
    size_t n = 0, i;
    int rc;

    if (file == NULL)
        return -ENOEXEC;
    while (opts->args[n] != NULL)
        n++;
    args = pr_xcalloc(n + 2, sizeof(char *));
    args[0] = run->ctx->shell;
    args[1] = file;
    for (i = 1; i < n; i++)
        args[i + 1] = opts->args[i];
    o.file = run->ctx->shell;
    o.args = args;
    rc = fast_spawn(run, &o, -1);
    free(args);
    free(file);
    return rc;
}

/* What runs: the task's argv, or its line through the shell (from a file
 * on fd 3, *script_fd, when it is too long for an argument). */
static int
set_program(struct spawn_run *run, uv_process_options_t *opts, char **args,
            int *script_fd)
{
    struct pr_task *task = run->task;

    /* `true` or `gzip -9 a.txt` need no shell to start them. */
    if (task->argv == NULL && task->plain_line && task->long_fd < 0 &&
        !pr_shell_split_simple(task->line, task->line_len, &task->argv))
        task->argv = NULL;
    if (task->argv != NULL) {
        opts->file = task->argv[0];
        opts->args = task->argv;
        return 0;
    }
    if (memchr(task->line, '\0', task->line_len) != NULL) {
        task->error_what = "the line contains a NUL byte";
        return UV_EINVAL;
    }
    args[0] = run->ctx->shell;
    if (task->long_fd >= 0 || task->line_len > MAX_ARG_LEN) {
        *script_fd = write_script(task);
        if (*script_fd < 0) {
            task->error_what = "cannot write the long line to a file";
            return *script_fd;
        }
        args[1] = dev_fd_3;
        args[2] = NULL;
    } else {
        args[1] = dash_c;
        args[2] = task->line;
        args[3] = NULL;
    }
    opts->file = run->ctx->shell;
    opts->args = args;
    return 0;
}

/* The task's stdin: its stdin_fd, or for a block the read end of the
 * feed's pipe, which start_feed fills once the task runs. */
static int
open_feed(struct spawn_run *run)
{
    int rc;

    run->in_fd = run->task->stdin_fd;
    if (!pr_feed_wanted(run->task))
        return 0;
    rc = pr_feed_open(&run->feed, run->task, &run->in_fd);
    if (rc != 0)
        run->task->error_what = "cannot make a pipe for its stdin";
    return rc;
}

/* The child has the read end, or failed to start: either way ours goes;
 * the write end goes too if there is no child to write to. */
static void
close_feed(struct spawn_run *run, int started)
{
    if (!pr_feed_wanted(run->task))
        return;
    close(run->in_fd);
    run->in_fd = -1;
    if (!started)
        pr_feed_close(&run->feed);
}

static void
start_feed(struct spawn_run *run)
{
    if (pr_feed_start(&run->feed, run->ctx->loop, run, on_handle_closed))
        run->open_handles++;
}

/* fd 0 from the task's stdin file or nothing, 1 and 2 into our pipes, 3
 * the script of a long line. */
static void
set_stdio(struct spawn_run *run, uv_stdio_container_t *stdio, int script_fd)
{
    stdio[0].flags = UV_IGNORE;
    if (run->in_fd >= 0) {
        stdio[0].flags = UV_INHERIT_FD;
        stdio[0].data.fd = run->in_fd;
    }
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&run->pipes[0];
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&run->pipes[1];
    stdio[3].flags = UV_INHERIT_FD;
    stdio[3].data.fd = script_fd;
}

static int
spawn(struct spawn_run *run)
{
    const struct pr_spawn_ctx *ctx = run->ctx;
    struct pr_task *task = run->task;
    uv_process_options_t opts;
    uv_stdio_container_t stdio[4];
    char *args[4];
    char seq_var[48];
    char slot_var[48];
    char **env = NULL;
    int script_fd = -1;
    int rc;

    if (task->error != 0)
        return task->error; /* the command could not even be built */
    rc = pr_task_runnable(task);
    if (rc == 0 && task->spec != NULL && task->spec->cwd != NULL)
        rc = check_cwd(task);
    memset(&opts, 0, sizeof(opts));
    if (rc == 0)
        rc = set_program(run, &opts, args, &script_fd);
    if (rc == 0)
        rc = open_feed(run);
    if (rc != 0) {
        if (script_fd >= 0)
            close(script_fd);
        return rc;
    }
    snprintf(seq_var, sizeof(seq_var), "POOLRUN_SEQ=%llu",
             (unsigned long long)task->seq);
    snprintf(slot_var, sizeof(slot_var), "POOLRUN_SLOT=%u", task->slot);
    ctx->env[ctx->env_seq] = seq_var;
    ctx->env[ctx->env_slot] = slot_var;
    set_stdio(run, stdio, script_fd);
    opts.env = ctx->env;
    if (task->spec != NULL && task->spec->env != NULL)
        opts.env = env = task_env(ctx, task->spec->env, seq_var, slot_var);
    if (task->spec != NULL)
        opts.cwd = task->spec->cwd;
    opts.flags = UV_PROCESS_DETACHED;
    opts.stdio = stdio;
    opts.stdio_count = script_fd >= 0 ? 4 : 3;
    opts.exit_cb = on_proc_exit;

    /* A task starts when its program does: both spawns return once the
     * exec has succeeded (or failed).  What the exec cost is poolrun's to
     * start it, not the task's to run. */
    task->start_ns = 0;
    if (fast_path_ok(task)) {
        rc = fast_spawn(run, &opts, script_fd);
        if (rc == -ENOEXEC && task->argv != NULL)
            rc = spawn_as_script(run, &opts);
    } else {
        rc = uv_spawn(ctx->loop, &run->proc, &opts);
    }
    if (task->start_ns == 0)
        stamp_start(task);
    ctx->env[ctx->env_seq] = NULL;
    ctx->env[ctx->env_slot] = NULL;
    if (script_fd >= 0)
        close(script_fd);
    close_feed(run, rc == 0);
    free(env);
    if (rc != 0)
        task->error_what = "cannot start";
    return rc;
}

/* Run directly, a command that is missing or not executable fails as the
 * shell would report it (127, 126), with the shell's kind of message on
 * the task's stderr. */
static int
as_shell_failure(struct spawn_run *run, int rc)
{
    struct pr_task *task = run->task;
    char msg[512];
    int n;

    if (task->argv == NULL || (rc != UV_ENOENT && rc != UV_EACCES))
        return 0;
    task->exit_status = rc == UV_ENOENT ? 127 : 126;
    n = snprintf(msg, sizeof(msg), "poolrun: %s: %s\n", task->argv[0],
                 rc == UV_ENOENT ? "command not found" : "permission denied");
    if (n > (int)sizeof(msg) - 1)
        n = (int)sizeof(msg) - 1;
    run->up->output(run->up->data, task, 2, msg, (size_t)n);
    return 1;
}

static int
spawn_start(struct pr_runner *r, struct pr_task *task)
{
    struct spawn_runner *sr = (struct spawn_runner *)r;
    const struct pr_spawn_ctx *ctx = sr->ctx;
    struct spawn_run *run = pr_xcalloc(1, sizeof(*run));
    double limit;
    int rc;
    int i;

    run->ctx = ctx;
    run->up = r->up;
    run->task = task;
    pr_list_insert_before(&sr->runs, &run->node);
    task->run = run;
    pr_proc_end_init(ctx->loop, &run->end, &end_ops, run, ctx->kill_after);
    run->open_handles = 1;
    for (i = 0; i < 2; i++) {
        uv_pipe_init(ctx->loop, &run->pipes[i], 0);
        run->pipes[i].data = run;
        run->pipe_open[i] = 1;
        run->open_handles++;
    }
    run->proc.data = run;
    run->pidfd = -1;
    run->exit_ticket = -1;
    run->in_fd = -1;
    run->feed.fd = -1;
    rc = spawn(run);
    /* uv_spawn initialises the handle even when it fails; the fast path
     * has a pidfd poll only once the process runs. */
    if (run->fast || run->proc.type == UV_PROCESS)
        run->open_handles++;
    if (rc != 0) {
        /* Every handle still closes, and the error record goes out through
         * the same last close as any other. */
        if (!as_shell_failure(run, rc))
            task->error = rc;
        if (run->proc.type == UV_PROCESS)
            close_handle((uv_handle_t *)&run->proc);
        close_pipe(run, 0);
        close_pipe(run, 1);
        pr_proc_end_close(&run->end, on_handle_closed);
        return rc;
    }
    task->pid = run->proc.pid;
    run->running = 1;
    pr_proc_end_guard(&run->end, ctx->guard, task->pid);
    limit = task->spec != NULL && task->spec->timeout >= 0 ? task->spec->timeout
                                                           : ctx->timeout;
    if (limit > 0) {
        uv_timer_init(ctx->loop, &run->deadline);
        run->deadline.data = run;
        run->has_deadline = 1;
        run->open_handles++;
        uv_timer_start(&run->deadline, on_deadline, pr_seconds_to_ms(limit), 0);
    }
    for (i = 0; i < 2; i++)
        uv_read_start((uv_stream_t *)&run->pipes[i], on_pipe_alloc,
                      on_pipe_read);
    start_feed(run);
    return 0;
}

static void
spawn_retime(struct pr_runner *r, struct pr_task *task, double limit)
{
    struct spawn_run *run = task->run;
    uint64_t ran_ms, limit_ms = pr_seconds_to_ms(limit);

    (void)r;
    /* Past its limit already, it has its SIGTERM: the grace runs on. */
    if (run == NULL || !run->running || task->timed_out)
        return;
    ran_ms = (uv_hrtime() - task->start_ns) / 1000000;
    if (!run->has_deadline) {
        uv_timer_init(run->ctx->loop, &run->deadline);
        run->deadline.data = run;
        run->has_deadline = 1;
        run->open_handles++;
    }
    uv_timer_start(&run->deadline, on_deadline,
                   limit_ms > ran_ms ? limit_ms - ran_ms : 0, 0);
}

static int
spawn_exited(const struct pr_runner *r, const struct pr_task *task)
{
    (void)r;
    return main_exited(task);
}

static void
spawn_signal(struct pr_runner *r, struct pr_task *task, int sig)
{
    (void)r;
    struct spawn_run *run = task->run;

    if (run == NULL || task->pid <= 0 || !has_processes(run))
        return;
    task->signalled = sig;
    kill(-task->pid, sig);
}

static void
read_again(struct spawn_run *run, int i)
{
    run->paused[i] = 0;
    if (run->pipe_open[i])
        uv_read_start((uv_stream_t *)&run->pipes[i], on_pipe_alloc,
                      on_pipe_read);
}

static void
spawn_pause(struct pr_runner *r, struct pr_task *task, int stream)
{
    (void)r;
    struct spawn_run *run = task->run;
    int i = stream - 1;

    if (run == NULL || !run->running || run->paused[i])
        return;
    run->paused[i] = 1;
    if (run->pipe_open[i])
        uv_read_stop((uv_stream_t *)&run->pipes[i]);
}

static int
spawn_resume(struct pr_runner *r, struct pr_task *task)
{
    struct spawn_run *run = task->run;
    int still = 0;
    int i;

    (void)r;
    if (run == NULL)
        return 0;
    for (i = 0; i < 2; i++) {
        uv_os_fd_t fd;

        if (!run->paused[i])
            continue;
        /* Straight on from the pipe while stdout takes it: the pipe stays
         * the buffer, and reading stops and starts only when it empties. */
        if (run->fast && run->pipe_open[i] &&
            uv_fileno((uv_handle_t *)&run->pipes[i], &fd) == 0 &&
            run->up->splice(run->up->data, task, i + 1, fd) == 0 &&
            run->up->output_busy(run->up->data)) {
            still = 1;
            continue;
        }
        read_again(run, i);
    }
    return still;
}

static void
spawn_signal_all(struct pr_runner *r, int sig)
{
    struct spawn_runner *sr = (struct spawn_runner *)r;
    struct pr_list *n;

    for (n = sr->runs.next; n != &sr->runs; n = n->next)
        spawn_signal(r, PR_CONTAINER_OF(n, struct spawn_run, node)->task, sig);
}

static int
spawn_owns_pid(const struct pr_runner *r, int pid)
{
    const struct spawn_runner *sr = (const struct spawn_runner *)r;
    struct pr_list *n;

    for (n = sr->runs.next; n != &sr->runs; n = n->next)
        if (PR_CONTAINER_OF(n, struct spawn_run, node)->task->pid == pid)
            return 1;
    return 0;
}

static void
spawn_free(struct pr_runner *r)
{
    free(r);
}

static const struct pr_runner_ops spawn_ops = {
    .start = spawn_start,
    .signal = spawn_signal,
    .signal_all = spawn_signal_all,
    .exited = spawn_exited,
    .pause = spawn_pause,
    .resume = spawn_resume,
    .retime = spawn_retime,
    .owns_pid = spawn_owns_pid,
    .free = spawn_free,
};

struct pr_runner *
pr_runner_spawn_new(const struct pr_spawn_ctx *ctx,
                    const struct pr_runner_up *up)
{
    struct spawn_runner *sr = pr_xcalloc(1, sizeof(*sr));

    sr->base.ops = &spawn_ops;
    sr->base.up = up;
    sr->ctx = ctx;
    pr_list_init(&sr->runs);
    return &sr->base;
}

extern char **environ;

void
pr_spawn_ctx_init(struct pr_spawn_ctx *ctx, uv_loop_t *loop,
                  const char *shell, double kill_after, double timeout)
{
    size_t n = 0;
    size_t i;
    char **env;

    memset(ctx, 0, sizeof(*ctx));
    ctx->loop = loop;
    ctx->shell = pr_xstrdup(shell != NULL ? shell : "/bin/sh");
    ctx->kill_after = kill_after;
    ctx->timeout = timeout;
    ctx->read_buf_size = READ_BUF_SIZE;
    ctx->read_buf = pr_xmalloc(READ_BUF_SIZE);
    ctx->paths = path_cache_new();
    ctx->exitclock = pr_exitclock_new();
    for (i = 0; environ != NULL && environ[i] != NULL; i++)
        n++;
    env = pr_xcalloc(n + 3, sizeof(*env));
    n = 0;
    for (i = 0; environ != NULL && environ[i] != NULL; i++) {
        /* Ours replace any inherited ones. */
        if (strncmp(environ[i], "POOLRUN_SEQ=", 12) == 0 ||
            strncmp(environ[i], "POOLRUN_SLOT=", 13) == 0)
            continue;
        env[n++] = environ[i];
    }
    ctx->env = env;
    ctx->env_seq = n;
    ctx->env_slot = n + 1;
}

void
pr_spawn_ctx_free(struct pr_spawn_ctx *ctx)
{
    free(ctx->shell);
    free(ctx->read_buf);
    free(ctx->env);
    path_cache_free(ctx->paths);
    pr_exitclock_free(ctx->exitclock);
}
