/*
 * verbs: see verbs.h.  The client side is a few blocking system calls: it
 * connects, sends one request, reads one reply and prints it; `submit`
 * starts the service first when none runs.
 */
#include "verbs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "base64.h"
#include "command.h"
#include "json.h"
#include "options.h"
#include "proto.h"
#include "report_verb.h"
#include "retry.h"
#include "rq.h"
#include "service.h"
#include "sockdir.h"
#include "source_json.h"
#include "source_lines.h"
#include "status.h"
#include "sys.h"
#include "template.h"
#include "util.h"

extern char **environ;

#define EXIT_OWN_ERROR 255
#define EXIT_TIMEOUT   124
#define SOCKET_NAME    "serve.sock"
/* How long a client waits for a service it started to listen. */
#define START_WAIT_MS 5000

/* The service's socket; prints why not and returns -1. */
static int
socket_path(const char *verb, char *buf, size_t n)
{
    const char *why = NULL;
    int rc = pr_sockdir_path(buf, n, SOCKET_NAME, &why);

    if (rc == 0)
        return 0;
    fprintf(stderr, "poolrun: %s: the socket folder %s %s\n", verb, buf,
            rc == UV_EPERM && why != NULL ? why : pr_err_text(rc));
    return -1;
}

/* The start of the first string that was not UTF-8 text (the service
 * carries only JSON, which is text), printable, or NULL. */
static const char *bad_text;
static char bad_text_buf[64];

/* Appends s as a JSON string; one that is not UTF-8 text is noted in
 * bad_text and the request is not sent (see ask). */
static void
text(struct pr_buf *b, const char *s, size_t n)
{
    size_t i;

    if (pr_json_append_string(b, s, n) == 0)
        return;
    pr_buf_append(b, "\"\"", 2);
    if (bad_text != NULL)
        return;
    for (i = 0; i < n && i < sizeof(bad_text_buf) - 1; i++) {
        unsigned char ch = (unsigned char)s[i];

        bad_text_buf[i] = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
    }
    bad_text_buf[i] = '\0';
    bad_text = bad_text_buf;
}

/* --- serve -------------------------------------------------------------- */

struct serve {
    uv_loop_t loop;
    struct pr_service *svc;
    uv_signal_t sigs[3];
    int nsigs;
};

static void
on_serve_signal(uv_signal_t *h, int signum)
{
    struct serve *sv = h->data;

    pr_service_signal(sv->svc, signum);
}

static void
on_service_ended(void *data)
{
    struct serve *sv = data;
    int i;

    for (i = 0; i < sv->nsigs; i++)
        uv_close((uv_handle_t *)&sv->sigs[i], NULL);
    sv->nsigs = 0;
}

static void
serve_failed(const char *state, int rc)
{
    if (rc == UV_EBUSY)
        fprintf(stderr,
                "poolrun: serve: another poolrun serve uses the state "
                "folder %s\n",
                state);
    else
        fprintf(stderr, "poolrun: serve: %s: %s\n",
                rc == UV_EFTYPE || rc == UV_ENOTSUP || rc == UV_EINVAL
                    ? "the journal in the state folder cannot be read"
                    : "cannot start",
                pr_err_text(rc));
}

static int
serve_loop(struct pr_config *cfg, int fd, const char *state, int paused)
{
    static const int sig[3] = {SIGINT, SIGTERM, SIGHUP};
    struct pr_service_config sc;
    struct serve sv;
    const char *v;
    int rc, closed;

    memset(&sc, 0, sizeof(sc));
    memset(&sv, 0, sizeof(sv));
    sc.pool = cfg->pool;
    sc.listen_fd = fd;
    sc.state_dir = state;
    sc.start_paused = paused;
    /* The journal size below which the service never compacts it
     * (lib/service.c; default 1 MiB): the tests set it low. */
    if ((v = getenv("POOLRUN_COMPACT_MIN")) != NULL &&
        pr_parse_size(v, &sc.compact_min) != 0) {
        fprintf(stderr,
                "poolrun: serve: POOLRUN_COMPACT_MIN: not a size in bytes "
                "(such as 4096 or 16M): %s\n",
                v);
        return EXIT_OWN_ERROR;
    }
    sc.ended = on_service_ended;
    sc.ended_data = &sv;
    /* A million-line submit's transients (its message, its journal record)
     * do not stay in the service's memory after it. */
    pr_sys_return_large_blocks(1 << 20);
    uv_loop_init(&sv.loop);
    rc = pr_service_new(&sv.svc, &sv.loop, &sc);
    if (rc == 0)
        rc = pr_service_start(sv.svc);
    for (; rc == 0 && sv.nsigs < 3; sv.nsigs++) {
        uv_signal_init(&sv.loop, &sv.sigs[sv.nsigs]);
        sv.sigs[sv.nsigs].data = &sv;
        uv_signal_start(&sv.sigs[sv.nsigs], on_serve_signal, sig[sv.nsigs]);
    }
    if (rc != 0)
        serve_failed(state, rc);
    uv_run(&sv.loop, UV_RUN_DEFAULT);
    closed = uv_loop_close(&sv.loop);
    pr_service_free(sv.svc);
    if (closed != 0)
        fprintf(stderr, "poolrun: internal error: handles left open\n");
    return rc != 0 || closed != 0 ? EXIT_OWN_ERROR : 0;
}

static int take_value(int argc, char **argv, int *i, const char *name,
                      const char **out);

/* --state DIR (taken out of argv), else $XDG_STATE_HOME/poolrun, else
 * ~/.local/state/poolrun. */
static const char *
state_folder(int *argc, char **argv, char *buf, size_t n)
{
    const char *v = NULL;
    int i, k = 1;

    for (i = 1; i < *argc; i++) {
        int r = take_value(*argc, argv, &i, "--state", &v);

        if (r < 0)
            return NULL;
        if (r == 0)
            argv[k++] = argv[i];
    }
    argv[k] = NULL;
    *argc = k;
    if (v != NULL)
        return v;
    if ((v = getenv("XDG_STATE_HOME")) != NULL && v[0] == '/')
        snprintf(buf, n, "%s/poolrun", v);
    else
        snprintf(buf, n, "%s/.local/state/poolrun",
                 getenv("HOME") ? getenv("HOME") : "/");
    return buf;
}

/* --start-paused, taken out of argv: is it there? */
static int
take_start_paused(int *argc, char **argv)
{
    int i, k = 1, found = 0;

    for (i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--start-paused") == 0)
            found = 1;
        else
            argv[k++] = argv[i];
    }
    argv[k] = NULL;
    *argc = k;
    return found;
}

/* What the service does not take (yet): an input of its own, and a
 * joblog or results file that every queue would write at once (a file
 * named without {queue}: each queue numbers its tasks from 1, so its rows
 * could not be told apart).  NULL if all is well. */
static const char *
serve_refuses(const struct pr_config *cfg)
{
    if (cfg->ncommand > 0 || cfg->ninputs > 0 || cfg->njob_files > 0)
        return "takes options only: tasks come from submit";
    if (cfg->pool.joblog != NULL && strstr(cfg->pool.joblog, "{queue}") == NULL)
        return "--joblog: the file name needs {queue}, which each queue's "
               "name replaces (each queue writes its own)";
    if (cfg->pool.results != NULL &&
        strstr(cfg->pool.results, "{queue}") == NULL)
        return "--results: the file name needs {queue}, which each queue's "
               "name replaces (each queue writes its own)";
    if (cfg->pool.resume)
        return "--resume: not with serve";
    if (cfg->verbose)
        return "-t: not with serve (poolrun status shows what runs)";
    return NULL;
}

/* poolrun serve [pool options]: in the foreground until a shutdown. */
static int
verb_serve(int argc, char **argv)
{
    struct pr_config cfg;
    char err[512] = "";
    char path[4096];
    char statebuf[4096];
    const char *no = NULL;
    const char *state = state_folder(&argc, argv, statebuf, sizeof(statebuf));
    int paused = take_start_paused(&argc, argv);
    int fd = -1;
    int rc, status;

    if (state == NULL) {
        fprintf(stderr, "poolrun: serve: --state needs a folder\n");
        return EXIT_OWN_ERROR;
    }
    if (pr_options_parse(argc, argv, &cfg, err, sizeof(err)) != 0 ||
        (no = serve_refuses(&cfg)) != NULL) {
        fprintf(stderr, "poolrun: serve: %s\n", err[0] != '\0' ? err : no);
        pr_options_free(&cfg);
        return EXIT_OWN_ERROR;
    }
    /* submit --priority means something: the highest first, ties in
     * submit order (which is fifo's order when no task has one). */
    if (cfg.pool.order == PR_ORDER_FIFO)
        cfg.pool.order = PR_ORDER_PRIORITY;
    /* Tasks get fds 0-2 and nothing else, not even what we inherited. */
    pr_sys_cloexec_from(3);
    if (socket_path("serve", path, sizeof(path)) != 0) {
        pr_options_free(&cfg);
        return EXIT_OWN_ERROR;
    }
    rc = pr_sockdir_listen(path, &fd);
    if (rc != 0) {
        fprintf(stderr, "poolrun: serve: %s: %s\n", path,
                rc == UV_EADDRINUSE ? "a poolrun service already runs there"
                                    : pr_err_text(rc));
        pr_options_free(&cfg);
        return EXIT_OWN_ERROR;
    }
    status = serve_loop(&cfg, fd, state, paused);
    unlink(path);
    pr_options_free(&cfg);
    return status;
}

/* --- the client --------------------------------------------------------- */

static int json_out;             /* status --json */
static struct pr_buf last_reply; /* the text of the last reply */

static void
null_stdio(void)
{
    int fd = open("/dev/null", O_RDWR);

    if (fd < 0)
        return;
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
        close(fd);
}

/* Starts `poolrun serve` in its own session, its output to /dev/null. */
static void
start_service(void)
{
    pid_t pid = fork();

    if (pid != 0) {
        if (pid > 0)
            waitpid(pid, NULL, 0); /* the first child exits at once */
        return;
    }
    if (fork() != 0)
        _exit(0); /* the service is not our child: nobody waits for it */
    setsid();
    null_stdio();
    /* Held by nobody's folder: tasks get their submitter's cwd anyway. */
    if (chdir("/") != 0)
        _exit(127);
    execl("/proc/self/exe", "poolrun", "serve", (char *)NULL);
    _exit(127);
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Connects to the service; with start, starts one if none runs.  Returns
 * the socket, or -1 after saying why. */
static int
connect_service(const char *verb, int start)
{
    char path[4096];
    int fd = -1;
    int rc;
    long waited = 0;

    if (socket_path(verb, path, sizeof(path)) != 0)
        return -1;
    rc = pr_sockdir_connect(path, &fd);
    if (rc != 0 && start && (rc == UV_ENOENT || rc == UV_ECONNREFUSED)) {
        start_service();
        while (rc != 0 && waited < START_WAIT_MS) {
            sleep_ms(5);
            waited += 5;
            rc = pr_sockdir_connect(path, &fd);
        }
    }
    if (rc == 0)
        return fd;
    if (rc == UV_ENOENT || rc == UV_ECONNREFUSED)
        fprintf(stderr, "poolrun: %s: no poolrun service runs (%s)\n", verb,
                path);
    else
        fprintf(stderr, "poolrun: %s: %s: %s\n", verb, path, pr_err_text(rc));
    return -1;
}

/* Sends body as one request and reads the reply into *doc.  Returns its
 * root object, or NULL after saying why. */
static const struct pr_json *
ask(const char *verb, int fd, struct pr_buf *body, struct pr_json_doc **doc)
{
    struct pr_proto_reader r;
    struct pr_buf frame = {0};
    struct pr_json_error jerr;
    const char *msg;
    size_t len;
    int rc;

    if (bad_text != NULL) {
        fprintf(stderr,
                "poolrun: %s: not UTF-8 text, which the service cannot "
                "carry: %s\n",
                verb, bad_text);
        return NULL;
    }
    pr_proto_frame(&frame, body->data, body->len);
    rc = pr_write_all(fd, frame.data, frame.len);
    pr_buf_free(&frame);
    pr_proto_reader_init(&r);
    if (rc == 0) {
        rc = pr_proto_read_blocking(fd, &r, &msg, &len);
        rc = rc == 1 ? 0 : rc == 0 ? UV_EOF : rc;
    }
    if (rc == 0) {
        last_reply.len = 0;
        pr_buf_append(&last_reply, msg, len);
        rc = pr_json_parse_strict(msg, len, doc, &jerr);
    }
    pr_proto_reader_free(&r);
    if (rc != 0) {
        fprintf(stderr, "poolrun: %s: no answer from the service: %s\n", verb,
                rc == UV_EOF ? "it closed the connection" : pr_err_text(rc));
        return NULL;
    }
    return pr_json_root(*doc);
}

/* The reply's "error", printed; returns 1 if there was one. */
static int
said_error(const char *verb, const struct pr_json *reply)
{
    const char *e;

    if (pr_json_get_string(pr_json_member(reply, "error"), &e) != 0)
        return 0;
    fprintf(stderr, "poolrun: %s: %s\n", verb, e);
    return 1;
}

static long
member_long(const struct pr_json *obj, const char *key)
{
    double v = 0;

    pr_json_get_number(pr_json_member(obj, key), &v);
    return (long)v;
}

/* The one-shot command's exit status for n failed tasks. */
static int
failed_status(long failed)
{
    return failed > 100 ? 101 : (int)failed;
}

/* --- submit ------------------------------------------------------------- */

struct submit_opts {
    const char *queue;
    const char *id;
    const char *timeout;
    const char *retries;
    const char *retry_on; /* --retry-on LIST */
    const char *on_done;
    const char *on_fail;
    const char *priority;
    const char *cwd;  /* --cwd DIR, as given */
    const char **env; /* --env NAME=VALUE, each */
    int nenv;
    const char *jobs;          /* -j N: the queue's -j from now on */
    const char *password_file; /* a Redis queue's */
    const char *redis_timeout;
    const char *jobfile; /* -f FILE */
    int wait;
    int json;           /* stdin lines are task objects */
    const char **after; /* --after ID[:ok|any], each */
    int nafter;
    char **command;
    int ncommand;
    /* The one-shot command's input options (-a, -0, -d, -n, -r, -E, -I,
     * --shell), then "--", COMMAND and its ::: items: cfg is what the
     * one-shot's parser makes of them. */
    char **oneshot;
    int noneshot;
    const char *input_opt; /* the first of them other than -a, or NULL */
    struct pr_config cfg;
    int map;                      /* tasks come from items (the source) */
    struct pr_template *template; /* map mode's COMMAND, or NULL */
    struct pr_buf fields;         /* ,"id":...: the same for every task */
};

/* Options of the client verbs: "--name VALUE" or "--name=VALUE". */
static int
take_value(int argc, char **argv, int *i, const char *name, const char **out)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *out = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *out = argv[++*i];
    return 1;
}

static void
push_arg(char ***v, int *n, char *arg)
{
    *v = pr_xrealloc(*v, (size_t)(*n + 2) * sizeof(**v));
    (*v)[(*n)++] = arg;
    (*v)[*n] = NULL;
}

/* The one-shot command's input options that submit takes as they are: 1
 * if argv[*i] is one (kept in o->oneshot for its parser), -1 if its value
 * is missing, 0 if not. */
static int
oneshot_option(int argc, char **argv, int *i, struct submit_opts *o)
{
    static const struct {
        const char *name;
        int value;
    } opts[] = {
        {"-a", 1}, {"--arg-file", 1},        {"-0", 0},      {"--null", 0},
        {"-d", 1}, {"--delimiter", 1},       {"-n", 1},      {"--max-args", 1},
        {"-r", 0}, {"--no-run-if-empty", 0}, {"-E", 1},      {"--sentinel", 1},
        {"-I", 1}, {"--replace", 1},         {"--shell", 0},
    };
    const char *a = argv[*i];
    size_t k, n;

    for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
        n = strlen(opts[k].name);
        if (strncmp(a, opts[k].name, n) != 0 ||
            (a[n] != '\0' && !(opts[k].value && (n == 2 || a[n] == '='))))
            continue;
        if (a[n] == '\0' && opts[k].value && *i + 1 >= argc)
            return -1;
        if (o->input_opt == NULL && strcmp(opts[k].name, "-a") != 0 &&
            strcmp(opts[k].name, "--arg-file") != 0)
            o->input_opt = opts[k].name;
        push_arg(&o->oneshot, &o->noneshot, argv[*i]);
        if (a[n] == '\0' && opts[k].value)
            push_arg(&o->oneshot, &o->noneshot, argv[++*i]);
        return 1;
    }
    return 0;
}

/* One option of submit's own; returns as take_value does. */
static int
submit_option(int argc, char **argv, int *i, struct submit_opts *o)
{
    static const struct {
        const char *name;
        size_t field;
    } opts[] = {
        {"--queue", offsetof(struct submit_opts, queue)},
        {"--id", offsetof(struct submit_opts, id)},
        {"--timeout", offsetof(struct submit_opts, timeout)},
        {"--retries", offsetof(struct submit_opts, retries)},
        {"--retry-on", offsetof(struct submit_opts, retry_on)},
        {"--on-done", offsetof(struct submit_opts, on_done)},
        {"--on-fail", offsetof(struct submit_opts, on_fail)},
        {"--priority", offsetof(struct submit_opts, priority)},
        {"--cwd", offsetof(struct submit_opts, cwd)},
        {"-j", offsetof(struct submit_opts, jobs)},
        {"--jobs", offsetof(struct submit_opts, jobs)},
        {"-f", offsetof(struct submit_opts, jobfile)},
        {"--password-file", offsetof(struct submit_opts, password_file)},
        {"--redis-timeout", offsetof(struct submit_opts, redis_timeout)},
    };
    const char *v;
    size_t k;
    int r;

    if ((r = take_value(argc, argv, i, "--after", &v)) > 0) {
        o->after =
            pr_xrealloc(o->after, (size_t)(o->nafter + 1) * sizeof(*o->after));
        o->after[o->nafter++] = v;
    } else if (r == 0 && (r = take_value(argc, argv, i, "--env", &v)) > 0) {
        o->env = pr_xrealloc(o->env, (size_t)(o->nenv + 1) * sizeof(*o->env));
        o->env[o->nenv++] = v;
    }
    for (k = 0; r == 0 && k < sizeof(opts) / sizeof(opts[0]); k++)
        r = take_value(argc, argv, i, opts[k].name,
                       (const char **)(void *)((char *)o + opts[k].field));
    return r;
}

static int
submit_parse(int argc, char **argv, struct submit_opts *o)
{
    static char dashdash[] = "--";
    int i, r;

    memset(o, 0, sizeof(*o));
    push_arg(&o->oneshot, &o->noneshot, argv[0]);
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (strcmp(argv[i], "--wait") == 0) {
            o->wait = 1;
            continue;
        }
        if (strcmp(argv[i], "--json") == 0) {
            o->json = 1;
            continue;
        }
        if ((r = submit_option(argc, argv, &i, o)) == 0 &&
            (r = oneshot_option(argc, argv, &i, o)) == 0) {
            fprintf(stderr, "poolrun: submit: unknown option %s\n", argv[i]);
            return -1;
        }
        if (r < 0) {
            fprintf(stderr, "poolrun: submit: %s needs a value\n", argv[i]);
            return -1;
        }
    }
    push_arg(&o->oneshot, &o->noneshot, dashdash);
    for (; i < argc; i++)
        push_arg(&o->oneshot, &o->noneshot, argv[i]);
    for (i = 0; i < o->nafter; i++) {
        const char *a = o->after[i];
        const char *how = a + strcspn(a, ":");

        if (how == a || (*how != '\0' && strcmp(how, ":ok") != 0 &&
                         strcmp(how, ":any") != 0)) {
            fprintf(stderr,
                    "poolrun: submit: --after %s: not ID, ID:ok or ID:any\n",
                    a);
            return -1;
        }
    }
    return 0;
}

/* What the one-shot's parser makes of the input options, COMMAND and its
 * ::: items; the map mode.  Returns 0, or -1 after saying why. */
static int
submit_input(struct submit_opts *o)
{
    struct pr_template_options to;
    struct pr_template_diag tdiag;
    char err[512] = "";
    const char *bad = NULL;

    if (pr_options_parse(o->noneshot, o->oneshot, &o->cfg, err, sizeof(err)) !=
        0) {
        fprintf(stderr, "poolrun: submit: %s\n", err);
        return -1;
    }
    o->command = o->cfg.command;
    o->ncommand = o->cfg.ncommand;
    /* The service's tasks are made here from one input, read as it
     * comes: what combines several (or splits columns) is the one-shot
     * command's. */
    if (o->cfg.ninputs > 1 || o->cfg.colsep != NULL || o->cfg.header != NULL ||
        o->cfg.tagstring != NULL || o->cfg.no_args || o->cfg.link ||
        (o->cfg.ninputs == 1 && o->cfg.narg_files == 0 && !o->cfg.have_args)) {
        fprintf(stderr, "poolrun: submit: several inputs, :::: FILE, "
                        "--link, --colsep, --header, --tagstring and -n 0 "
                        "are the one-shot command's: give one ::: or -a\n");
        return -1;
    }
    /* A COMMAND alone is one task, its words as they are (`find -exec
     * {} +`): only ::: or -a give it items. */
    o->map = o->cfg.have_args || o->cfg.narg_files > 0 ||
             (o->ncommand == 0 && o->input_opt != NULL);
    if (o->jobfile != NULL && (o->ncommand > 0 || o->map)) {
        fprintf(stderr, "poolrun: submit: -f and a COMMAND or items: one "
                        "or the other\n");
        return -1;
    }
    if (o->ncommand > 0 && !o->map && o->input_opt != NULL)
        bad = "is for items: give them with ::: or -a (- for stdin); a "
              "COMMAND alone is one task";
    else if (o->map && o->json)
        bad = "is for items: not with --json";
    if (bad != NULL) {
        fprintf(stderr, "poolrun: submit: %s %s\n",
                o->input_opt != NULL ? o->input_opt
                : o->cfg.have_args   ? ":::"
                                     : "-a",
                bad);
        return -1;
    }
    if (!o->map || o->ncommand == 0)
        return 0;
    memset(&to, 0, sizeof(to));
    to.words = o->command;
    to.nwords = o->ncommand;
    to.replace = o->cfg.replace;
    to.force_shell = o->cfg.force_shell;
    if (pr_template_new(&o->template, &to, &tdiag) != 0) {
        fprintf(stderr, "poolrun: submit: %s\n", tdiag.msg);
        return -1;
    }
    if (pr_template_uses_slot(o->template)) {
        fprintf(stderr, "poolrun: submit: {%%} (the slot) is known only when "
                        "the task starts: use $POOLRUN_SLOT\n");
        return -1;
    }
    return 0;
}

static void
submit_opts_free(struct submit_opts *o)
{
    pr_template_free(o->template);
    pr_options_free(&o->cfg);
    pr_buf_free(&o->fields);
    free(o->oneshot);
    free(o->after);
    free(o->env);
}

/* --env NAME=VALUE...: the task's "env" object, the last value of a name
 * winning (a JSON object may not hold a name twice). */
static void
env_object(struct pr_buf *b, const struct submit_opts *o)
{
    int i, k, n = 0;

    pr_buf_appendf(b, ",\"env\":{");
    for (i = 0; i < o->nenv; i++) {
        const char *e = o->env[i];
        size_t klen = strcspn(e, "=");

        for (k = i + 1; k < o->nenv; k++)
            if (strncmp(o->env[k], e, klen + 1) == 0)
                break;
        if (k < o->nenv)
            continue;
        if (n++ > 0)
            pr_buf_append(b, ",", 1);
        text(b, e, klen);
        pr_buf_append(b, ":", 1);
        text(b, e + klen + 1, strlen(e + klen + 1));
    }
    pr_buf_append(b, "}", 1);
}

static void
string_field(struct pr_buf *b, const char *key, const char *v)
{
    if (v == NULL)
        return;
    pr_buf_appendf(b, ",\"%s\":", key);
    text(b, v, strlen(v));
}

/* What the options say of every task, once: ,"id":...,"timeout":... */
static void
task_fields(struct submit_opts *o, const char *cwd)
{
    struct pr_buf *b = &o->fields;

    string_field(b, "id", o->id);
    if (o->timeout != NULL)
        pr_buf_appendf(b, ",\"timeout\":%s", o->timeout);
    if (o->retries != NULL)
        pr_buf_appendf(b, ",\"retries\":%s", o->retries);
    string_field(b, "retry_on", o->retry_on);
    string_field(b, "on_done", o->on_done);
    string_field(b, "on_fail", o->on_fail);
    if (o->priority != NULL)
        pr_buf_appendf(b, ",\"priority\":%ld", atol(o->priority));
    string_field(b, "cwd", cwd);
    if (o->nenv > 0)
        env_object(b, o);
}

/* One task object: its shell line, or its argv; then the options. */
static void
task_object(struct pr_buf *b, const struct submit_opts *o, const char *line,
            size_t len, char *const *argv, int argc)
{
    int i;

    pr_buf_append(b, "{", 1);
    if (line != NULL) {
        pr_buf_appendf(b, "\"cmd\":");
        text(b, line, len);
    } else {
        pr_buf_appendf(b, "\"argv\":[");
        for (i = 0; i < argc; i++) {
            if (i > 0)
                pr_buf_append(b, ",", 1);
            text(b, argv[i], strlen(argv[i]));
        }
        pr_buf_append(b, "]", 1);
    }
    pr_buf_append(b, o->fields.data ? o->fields.data : "", o->fields.len);
    pr_buf_append(b, "}\n", 2);
}

/* -f FILE: the job file's text, as the service reads it. */
static int
read_jobfile(const char *path, struct pr_buf *b)
{
    char chunk[65536];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        fprintf(stderr, "poolrun: submit: -f %s: %s\n", path, pr_err_text(-errno));
        return -1;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        pr_buf_append(b, chunk, (size_t)n);
    if (n < 0)
        fprintf(stderr, "poolrun: submit: -f %s: %s\n", path, pr_err_text(-errno));
    close(fd);
    return n < 0 ? -1 : 0;
}

/* Map mode's intake: each task the one-shot's source makes from the items
 * becomes a task object at once (memory stays flat). */
struct collect {
    const struct submit_opts *o;
    struct pr_buf *jsonl;
    uint64_t n;
    int failed; /* a task that cannot be carried, or bad input: said */
    int err;    /* the input's read error, or 0 */
};

static int
collect_accepting(void *data)
{
    (void)data;
    return 1;
}

static void
collect_put(void *data, struct pr_task *task)
{
    struct collect *c = data;
    const struct submit_opts *o = c->o;

    task->seq = ++c->n; /* {#}: its number in this submit */
    if (!c->failed && task->long_error != 0) {
        fprintf(stderr, "poolrun: submit: task %llu: %s\n",
                (unsigned long long)task->seq, task->long_why);
        c->failed = 1;
    }
    if (!c->failed)
        pr_command_build(task, o->template, 0, NULL);
    if (!c->failed && task->error != 0) {
        fprintf(stderr, "poolrun: submit: task %llu (%s): %s\n",
                (unsigned long long)task->seq, task->line ? task->line : "",
                task->error_what ? task->error_what : pr_err_text(task->error));
        c->failed = 1;
    }
    /* Without a COMMAND the items are a shell line, as the one-shot's;
     * with one, its argv, unless the COMMAND is a shell command. */
    if (!c->failed && o->template != NULL && task->argv != NULL) {
        int n = 0;

        while (task->argv[n] != NULL)
            n++;
        task_object(c->jsonl, o, NULL, 0, task->argv, n);
    } else if (!c->failed) {
        task_object(c->jsonl, o, task->line, task->line_len, NULL, 0);
    }
    pr_task_free(task);
}

static void
collect_end(void *data, int err)
{
    struct collect *c = data;

    c->err = err;
}

static void
collect_fail(void *data, const char *msg)
{
    struct collect *c = data;

    fprintf(stderr, "poolrun: submit: %s\n", msg);
    c->failed = 1;
}

/* The input files of -a, opened (- is stdin; none: stdin); NULL after
 * saying why. */
static int *
open_inputs(const struct pr_config *cfg, int *n)
{
    static const char *const dash = "-";
    const char *const *paths = cfg->narg_files > 0 ? cfg->arg_files : &dash;
    int *fds;
    int i;

    *n = cfg->narg_files > 0 ? cfg->narg_files : 1;
    fds = pr_xcalloc((size_t)*n, sizeof(int));
    for (i = 0; i < *n; i++) {
        const char *path = paths[i];
        struct stat st;
        int err = 0;

        fds[i] = strcmp(path, "-") == 0 ? fcntl(0, F_DUPFD_CLOEXEC, 3)
                                        : open(path, O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0)
            err = errno;
        else if (fstat(fds[i], &st) == 0 && S_ISDIR(st.st_mode))
            err = EISDIR;
        if (err != 0) {
            fprintf(stderr, "poolrun: submit: -a %s: %s\n", path,
                    pr_err_text(-err));
            for (i++; i-- > 0;)
                if (fds[i] >= 0)
                    close(fds[i]);
            free(fds);
            return NULL;
        }
    }
    return fds;
}

/* Map mode: the one-shot's own source splits the items (::: or -a files;
 * -0, -d, -n, -E, -r) and the one-shot's template fills COMMAND with each
 * task's, quoted for its place: an item is never code. */
static int
map_tasks(const struct submit_opts *o, struct pr_buf *jsonl)
{
    const struct pr_config *cfg = &o->cfg;
    struct collect c = {o, jsonl, 0, 0, 0};
    struct pr_intake in = {&c, collect_accepting, collect_put, collect_end,
                           collect_fail};
    struct pr_source_lines_options so;
    struct pr_source *src;
    uv_loop_t loop;
    int *fds = NULL;
    int nfds = 0;

    memset(&so, 0, sizeof(so));
    so.delim = cfg->delim;
    so.per_task = cfg->per_task;
    so.sentinel = cfg->sentinel;
    so.run_once_if_empty = o->ncommand > 0 && !cfg->no_run_if_empty;
    if (!cfg->have_args && (fds = open_inputs(cfg, &nfds)) == NULL)
        return -1;
    uv_loop_init(&loop);
    src = cfg->have_args ? pr_source_args_new(cfg->args, cfg->nargs, &so)
                         : pr_source_lines_new(&loop, fds, nfds, &so);
    free(fds);
    if (pr_source_start(src, &in) != 0)
        c.err = UV_EIO;
    uv_run(&loop, UV_RUN_DEFAULT);
    if (c.err != 0 && !c.failed)
        fprintf(stderr, "poolrun: submit: %s: %s\n",
                cfg->have_args ? ":::" : "-a", pr_err_text(c.err));
    src->ops->free(src);
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "poolrun: internal error: handles left open\n");
    return c.failed || c.err != 0 ? -1 : 0;
}

/* The tasks as JSON Lines: the COMMAND, the items of map mode, or one per
 * line of stdin. */
static int
submit_tasks(const struct submit_opts *o, struct pr_buf *jsonl)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    if (o->jobfile != NULL)
        return 0;
    if (o->map)
        return map_tasks(o, jsonl);
    if (o->ncommand > 0) {
        task_object(jsonl, o, NULL, 0, o->command, o->ncommand);
        return 0;
    }
    while ((n = getline(&line, &cap, stdin)) > 0) {
        if (line[n - 1] == '\n')
            n--;
        if (n == 0)
            continue;
        if (o->json) {
            pr_buf_append(jsonl, line, (size_t)n);
            pr_buf_append(jsonl, "\n", 1);
        } else {
            task_object(jsonl, o, line, (size_t)n, NULL, 0);
        }
    }
    free(line);
    if (ferror(stdin)) {
        fprintf(stderr, "poolrun: submit: stdin: %s\n", pr_err_text(-errno));
        return -1;
    }
    return 0;
}

static int
is_number(const char *s, int whole)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || v < 0 || v != v)
        return 0;
    return !whole || (double)(long)v == v;
}

/* A job file's "cwd" values are relative to the file's own folder. */
static void
jobfile_dir(struct pr_buf *b, const char *path)
{
    struct pr_buf dir = {0};
    const char *slash = strrchr(path, '/');
    char cwd[4096];

    if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL) {
        pr_buf_append(&dir, cwd, strlen(cwd));
        pr_buf_append(&dir, "/", 1);
    }
    if (slash != NULL)
        pr_buf_append(&dir, path, (size_t)(slash - path) + (slash == path));
    if (dir.len > 1 && dir.data[dir.len - 1] == '/')
        dir.len--;
    if (dir.len > 0) {
        pr_buf_appendf(b, ",\"jobfile_dir\":");
        text(b, dir.data, dir.len);
    }
    pr_buf_free(&dir);
}

static void
submit_message(struct pr_buf *b, const struct submit_opts *o,
               const struct pr_buf *jsonl, const struct pr_buf *jobfile)
{
    char cwd[4096];
    size_t i, n;

    const char *queue = o->queue != NULL ? o->queue : "default";

    pr_buf_appendf(b, "{\"op\":\"submit\",\"queue\":");
    text(b, queue, strlen(queue));
    if (o->jobs != NULL)
        pr_buf_appendf(b, ",\"jobs\":%ld", atol(o->jobs));
    if (getcwd(cwd, sizeof(cwd)) != NULL) {
        pr_buf_appendf(b, ",\"cwd\":");
        text(b, cwd, strlen(cwd));
    }
    pr_buf_appendf(b, ",\"env\":[");
    for (i = 0, n = 0; environ != NULL && environ[i] != NULL; i++) {
        size_t at = b->len;

        if (n > 0)
            pr_buf_append(b, ",", 1);
        /* A variable that is not UTF-8 text cannot be carried: the task
         * does not get it. */
        if (pr_json_append_string(b, environ[i], strlen(environ[i])) != 0)
            b->len = at;
        else
            n++;
    }
    pr_buf_appendf(b, "],\"after\":[");
    for (i = 0; i < (size_t)o->nafter; i++) {
        const char *a = o->after[i];
        size_t idlen = strcspn(a, ":");

        if (i > 0)
            pr_buf_append(b, ",", 1);
        pr_buf_appendf(b, "{\"id\":");
        text(b, a, idlen);
        pr_buf_appendf(b, ",\"any\":%s}",
                       strcmp(a + idlen, ":any") == 0 ? "true" : "false");
    }
    pr_buf_appendf(b, "],\"jsonl\":");
    text(b, jsonl->data ? jsonl->data : "", jsonl->len);
    if (o->jobfile != NULL) {
        pr_buf_appendf(b, ",\"jobfile\":");
        text(b, jobfile->data ? jobfile->data : "", jobfile->len);
        pr_buf_appendf(b, ",\"jobfile_name\":");
        text(b, o->jobfile, strlen(o->jobfile));
        jobfile_dir(b, o->jobfile);
    }
    pr_buf_append(b, "}", 1);
}

static int follow_ids(int fd, const struct pr_json *ids);

/* --priority N: a job file's range. */
#define PRIORITY_MAX 1000000000L

/* --env NAME=VALUE: a name the task may be given. */
static int
env_ok(const char *e)
{
    size_t k = strcspn(e, "=");

    return k > 0 && e[k] == '=' &&
           !(k == 11 && strncmp(e, "POOLRUN_SEQ", 11) == 0) &&
           !(k == 12 && strncmp(e, "POOLRUN_SLOT", 12) == 0);
}

/* Each task option's value, as the one-shot checks it: one line naming
 * the option, and 0. */
static int
submit_values_ok(const struct submit_opts *o)
{
    struct pr_retry_on on;
    const char *bad = NULL, *word;
    size_t wlen;
    long n;
    int i;

    if (o->timeout != NULL && !is_number(o->timeout, 0))
        bad = "--timeout must be a number of seconds >= 0";
    else if (o->retries != NULL && !is_number(o->retries, 1))
        bad = "--retries must be a whole number >= 0";
    else if (o->retry_on != NULL &&
             pr_retry_on_parse(&on, o->retry_on, &word, &wlen) != 0) {
        if (wlen == 0)
            fprintf(stderr,
                    "poolrun: submit: --retry-on: '%s': give exit codes, "
                    "timeout or signal names, separated by commas\n",
                    o->retry_on);
        else
            fprintf(stderr,
                    "poolrun: submit: --retry-on: '%.*s' is not an exit code "
                    "(0-255), timeout or a signal name\n",
                    (int)wlen, word);
        return 0;
    } else if (o->on_done != NULL && o->on_done[0] == '\0')
        bad = "--on-done needs a command";
    else if (o->on_fail != NULL && o->on_fail[0] == '\0')
        bad = "--on-fail needs a command";
    else if (o->priority != NULL &&
             pr_parse_long(o->priority, -PRIORITY_MAX, PRIORITY_MAX, &n) != 0)
        bad = "--priority must be a whole number from -1000000000 to "
              "1000000000";
    else if (o->cwd != NULL && o->cwd[0] == '\0')
        bad = "--cwd needs a folder";
    else if (o->jobs != NULL && (!is_number(o->jobs, 1) || atol(o->jobs) < 1))
        bad = "-j must be a whole number >= 1";
    for (i = 0; bad == NULL && i < o->nenv; i++)
        if (!env_ok(o->env[i])) {
            fprintf(stderr,
                    "poolrun: submit: --env %s: not NAME=VALUE (POOLRUN_SEQ "
                    "and POOLRUN_SLOT are set for each task)\n",
                    o->env[i]);
            return 0;
        }
    if (bad != NULL)
        fprintf(stderr, "poolrun: submit: %s\n", bad);
    return bad == NULL;
}

/* --cwd DIR, checked now and made absolute (the service runs in /):
 * NULL after saying why. */
static char *
task_cwd(const char *dir)
{
    struct pr_buf b = {0};
    struct stat st;
    char here[4096];

    if (dir[0] != '/') {
        if (getcwd(here, sizeof(here)) == NULL) {
            fprintf(stderr, "poolrun: submit: --cwd %s: %s\n", dir,
                    pr_err_text(-errno));
            return NULL;
        }
        pr_buf_append(&b, here, strlen(here));
        if (b.len > 1)
            pr_buf_append(&b, "/", 1);
    }
    pr_buf_append(&b, dir, strlen(dir));
    pr_buf_append(&b, "", 1);
    if (stat(b.data, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "poolrun: submit: --cwd %s: %s\n", dir,
                errno != 0 && !S_ISDIR(st.st_mode) ? pr_err_text(-errno)
                                                   : "not a folder");
        pr_buf_free(&b);
        return NULL;
    }
    return b.data;
}

static void
print_ids(const struct pr_json *ids)
{
    const struct pr_json *v;

    for (v = pr_json_first(ids); v != NULL; v = pr_json_next(v)) {
        const char *id;

        if (pr_json_get_string(v, &id) == 0)
            printf("%s\n", id);
    }
    fflush(stdout);
}

/* Sends the submit msg; prints the ids; with --wait, waits for them. */
static int
submit_send(const struct submit_opts *o, struct pr_buf *msg)
{
    struct pr_json_doc *doc = NULL;
    const struct pr_json *reply;
    int fd, status = EXIT_OWN_ERROR;

    /* Said before a service is started for nothing. */
    if (bad_text != NULL) {
        (void)ask("submit", -1, msg, &doc);
        return status;
    }
    fd = connect_service("submit", 1);
    if (fd >= 0 && (reply = ask("submit", fd, msg, &doc)) != NULL &&
        !said_error("submit", reply)) {
        if (!o->wait)
            print_ids(pr_json_member(reply, "ids"));
        status = o->wait ? follow_ids(fd, pr_json_member(reply, "ids")) : 0;
    }
    pr_json_free(doc);
    if (fd >= 0)
        close(fd);
    return status;
}

static const char *rq_target(const char *given);
static const char *queue_option(int argc, char **argv);
static int rq_submit(const struct submit_opts *o, struct pr_buf *jsonl,
                     const struct pr_buf *jobfile);
static int rq_join(int argc, char **argv);
static int rq_status(int argc, char **argv);
static int rq_close(int argc, char **argv);
static int rq_cancel(int argc, char **argv);

/* Might a line hold "after"?  (Only then is each parsed.) */
static int
mentions_after(const struct pr_buf *b)
{
    const char *p = b->data, *end = b->data + b->len;

    while (p != NULL && end - p >= 6) {
        if (memcmp(p, "\"after", 6) == 0)
            return 1;
        p = memchr(p + 1, '"', (size_t)(end - p - 1));
    }
    return 0;
}

/* The first "after" of the tasks, whose place starts msg; 0 if none. */
static int
first_after(const struct pr_task *t, char *msg, size_t n)
{
    if (t->spec == NULL || t->spec->nafter == 0)
        return 0;
    snprintf(msg, n, "%s", t->spec->after[0].at);
    return 1;
}

/* A task's "after" is for the one-shot command: the queue service and
 * Redis would not honour it, so submit refuses it rather than let it be
 * run otherwise.  What fails to parse is left for the service to say.
 * Returns 0, or -1 after saying why. */
static int
refuse_after(const struct submit_opts *o, const struct pr_buf *jsonl,
             const struct pr_buf *jobfile)
{
    char where[1024] = "";
    struct pr_diag d;
    size_t at = 0, n = 0;

    if (o->jobfile != NULL && jobfile->len > 0) {
        struct pr_jobfile jf;
        size_t i;

        pr_jobfile_init(&jf);
        if (pr_jobfile_load_mem(&jf, o->jobfile, jobfile->data, jobfile->len,
                                NULL, &d) == 0)
            for (i = 0; i < jf.ntasks && where[0] == '\0'; i++)
                first_after(jf.tasks[i], where, sizeof(where));
        pr_jobfile_free(&jf);
    }
    while (where[0] == '\0' && at < jsonl->len &&
           mentions_after(jsonl)) {
        const char *nl = memchr(jsonl->data + at, '\n', jsonl->len - at);
        size_t len = (nl ? (size_t)(nl - jsonl->data) : jsonl->len) - at;
        struct pr_task *t = NULL;

        if (pr_jobline_parse("stdin", ++n, jsonl->data + at, len, &t, &d) == 0)
            first_after(t, where, sizeof(where));
        pr_task_free(t);
        at += len + 1;
    }
    if (where[0] == '\0')
        return 0;
    fprintf(stderr,
            "poolrun: submit: %s: a task's \"after\" is for poolrun -f and "
            "--json: use submit --after ID\n",
            where);
    return -1;
}

static int
verb_submit(int argc, char **argv)
{
    struct submit_opts o;
    struct pr_buf jsonl = {0}, msg = {0}, jobfile = {0};
    char *cwd = NULL;
    int status = EXIT_OWN_ERROR;

    if (submit_parse(argc, argv, &o) == 0 && submit_values_ok(&o) &&
        submit_input(&o) == 0 &&
        (o.cwd == NULL || (cwd = task_cwd(o.cwd)) != NULL) &&
        (o.jobfile == NULL || read_jobfile(o.jobfile, &jobfile) == 0)) {
        task_fields(&o, cwd);
        status = submit_tasks(&o, &jsonl) == 0 &&
                         refuse_after(&o, &jsonl, &jobfile) == 0
                     ? 0
                     : EXIT_OWN_ERROR;
        if (status == 0 && rq_target(o.queue) != NULL) {
            o.queue = rq_target(o.queue);
            status = rq_submit(&o, &jsonl, &jobfile);
        } else if (status == 0 && (!o.map || jsonl.len > 0 || o.jobs != NULL)) {
            /* -r with no items: nothing to put, nothing to wait for. */
            submit_message(&msg, &o, &jsonl, &jobfile);
            status = submit_send(&o, &msg);
        }
    }
    pr_buf_free(&jsonl);
    pr_buf_free(&jobfile);
    pr_buf_free(&msg);
    free(cwd);
    submit_opts_free(&o);
    return status;
}

/* --- wait, join, status, shutdown --------------------------------------- */

/* The exit status over the tasks of a wait reply: one task's own code,
 * else how many did not succeed. */
static int
wait_status(const struct pr_json *reply)
{
    const struct pr_json *tasks = pr_json_member(reply, "tasks");
    const struct pr_json *t;
    long failed = 0;

    if (pr_json_get_bool(pr_json_member(reply, "timeout"), &(int){0}) == 0)
        return EXIT_TIMEOUT;
    if (pr_json_count(tasks) == 1)
        return (int)member_long(pr_json_first(tasks), "code");
    for (t = pr_json_first(tasks); t != NULL; t = pr_json_next(t)) {
        const char *st = "";

        pr_json_get_string(pr_json_member(t, "status"), &st);
        if (strcmp(st, "ok") != 0 && strcmp(st, "skipped") != 0)
            failed++;
    }
    return failed_status(failed);
}

/* --- following a task's output: log --follow, submit --wait ----------- */

/* How a followed task ended, from the follow's final frame. */
struct follow_end {
    int code;   /* as `wait` gives it */
    int failed; /* its status is neither ok nor skipped */
    int status; /* ours, when it is not the task's: 141 (stdout closed), 255 */
};

/* Writes n decoded bytes of a frame to stream's file, at once. */
static int
follow_write(const char *verb, int stream, const struct pr_buf *b,
             struct follow_end *end)
{
    FILE *to = stream == 2 ? stderr : stdout;

    if (b->len == 0 ||
        (fwrite(b->data, 1, b->len, to) == b->len && fflush(to) == 0))
        return 0;
    if (stream == 2)
        return 0; /* nowhere to say it */
    /* A closed stdout ends the client as it ends the one-shot command. */
    end->status = errno == EPIPE ? 128 + SIGPIPE : EXIT_OWN_ERROR;
    if (errno != EPIPE)
        fprintf(stderr, "poolrun: %s: writing standard output: %s\n", verb,
                pr_err_text(-errno));
    return -1;
}

/* One frame of a follow: output, a note of bytes left out, or the final
 * one.  Returns 1 for the final one (end filled in), 0 to go on, or -1
 * after saying what went wrong. */
static int
follow_frame(const char *verb, const char *id, const struct pr_json *f,
             struct follow_end *end)
{
    const char *b64, *st = "", *why = "";
    double stream = 1, skipped;
    int ok, rc = 0;

    if (pr_json_get_bool(pr_json_member(f, "ok"), &ok) == 0) {
        if (!ok && !said_error(verb, f))
            fprintf(stderr, "poolrun: %s: the service refused\n", verb);
        pr_json_get_string(pr_json_member(f, "status"), &st);
        end->code = (int)member_long(f, "code");
        end->failed = strcmp(st, "ok") != 0 && strcmp(st, "skipped") != 0;
        return ok ? 1 : -1;
    }
    pr_json_get_number(pr_json_member(f, "stream"), &stream);
    if (pr_json_get_string(pr_json_member(f, "base64"), &b64) == 0) {
        struct pr_buf b = {0};

        if (pr_base64_decode(&b, b64, strlen(b64)) != 0) {
            fprintf(stderr, "poolrun: %s: task %s: bad output frame\n", verb,
                    id);
            rc = -1;
        } else {
            rc = follow_write(verb, (int)stream, &b, end);
        }
        pr_buf_free(&b);
    }
    if (pr_json_get_number(pr_json_member(f, "skipped"), &skipped) == 0) {
        pr_json_get_string(pr_json_member(f, "why"), &why);
        fflush(stdout);
        fprintf(stderr,
                "poolrun: %s: task %s: %.0f bytes of its %s left out: %s\n",
                verb, id, skipped, stream == 2 ? "stderr" : "stdout", why);
    }
    return rc;
}

/* Asks the service for the task's output as it comes and prints it, until
 * the task has its final record (without follow: only if it has one
 * already).  Returns 0 (end filled in), or -1 after saying why
 * (end->status may say how to exit). */
static int
follow_task(const char *verb, int fd, const char *id, int follow,
            struct follow_end *end)
{
    struct pr_buf msg = {0};
    struct pr_proto_reader r;
    const char *p;
    size_t len;
    int rc, done = 0;

    pr_buf_appendf(&msg, "{\"op\":\"log\",\"follow\":%s,\"id\":",
                   follow ? "true" : "false");
    text(&msg, id, strlen(id));
    pr_buf_append(&msg, "}", 1);
    pr_proto_reader_init(&r);
    rc = bad_text != NULL ? UV_EINVAL
                          : pr_proto_write_all(fd, msg.data, msg.len);
    while (rc == 0 && done == 0) {
        struct pr_json_doc *doc = NULL;
        struct pr_json_error jerr;

        rc = pr_proto_read_blocking(fd, &r, &p, &len);
        rc = rc == 1 ? 0 : rc == 0 ? UV_EOF : rc;
        if (rc == 0 && (rc = pr_json_parse_strict(p, len, &doc, &jerr)) == 0)
            done = follow_frame(verb, id, pr_json_root(doc), end);
        pr_json_free(doc);
    }
    pr_proto_reader_free(&r);
    pr_buf_free(&msg);
    if (bad_text != NULL)
        fprintf(stderr,
                "poolrun: %s: not UTF-8 text, which the service cannot "
                "carry: %s\n",
                verb, bad_text);
    else if (rc != 0)
        fprintf(stderr, "poolrun: %s: no answer from the service: %s\n", verb,
                rc == UV_EOF ? "it closed the connection" : pr_err_text(rc));
    return rc == 0 && done == 1 ? 0 : -1;
}

/* submit --wait: each task's output as it comes, one task after the
 * other, as if they had run here; the exit status is `wait`'s. */
static int
follow_ids(int fd, const struct pr_json *ids)
{
    const struct pr_json *v;
    long failed = 0;
    struct follow_end end = {0, 0, EXIT_OWN_ERROR};

    for (v = pr_json_first(ids); v != NULL; v = pr_json_next(v)) {
        const char *id = "";

        pr_json_get_string(v, &id);
        if (follow_task("submit", fd, id, 1, &end) != 0)
            return end.status;
        failed += end.failed;
    }
    return pr_json_count(ids) == 1 ? end.code : failed_status(failed);
}

/* Sends one request built by the caller; prints errors; on success calls
 * done(reply) for the exit status. */
static int
simple_request(const char *verb, struct pr_buf *msg,
               int (*done)(const struct pr_json *reply))
{
    struct pr_json_doc *doc = NULL;
    const struct pr_json *reply;
    int fd = connect_service(verb, 0);
    int status = EXIT_OWN_ERROR;

    if (fd >= 0 && (reply = ask(verb, fd, msg, &doc)) != NULL &&
        !said_error(verb, reply))
        status = done(reply);
    pr_json_free(doc);
    pr_buf_free(msg);
    if (fd >= 0)
        close(fd);
    return status;
}

static int
verb_wait(int argc, char **argv)
{
    struct pr_buf msg = {0};
    const char *timeout = NULL;
    int i, n = 0;

    pr_buf_appendf(&msg, "{\"op\":\"wait\",\"ids\":[");
    for (i = 1; i < argc; i++) {
        int r = take_value(argc, argv, &i, "--timeout", &timeout);

        if (r < 0 || (r > 0 && !is_number(timeout, 0))) {
            fprintf(stderr, "poolrun: wait: --timeout needs seconds\n");
            pr_buf_free(&msg);
            return EXIT_OWN_ERROR;
        }
        if (r > 0)
            continue;
        if (n++ > 0)
            pr_buf_append(&msg, ",", 1);
        text(&msg, argv[i], strlen(argv[i]));
    }
    pr_buf_appendf(&msg, "],\"timeout\":%s}", timeout ? timeout : "0");
    if (n == 0) {
        fprintf(stderr, "poolrun: wait: which task ids?\n");
        pr_buf_free(&msg);
        return EXIT_OWN_ERROR;
    }
    return simple_request("wait", &msg, wait_status);
}

static int
join_status(const struct pr_json *reply)
{
    if (pr_json_get_bool(pr_json_member(reply, "timeout"), &(int){0}) == 0)
        return EXIT_TIMEOUT;
    return failed_status(member_long(reply, "failed"));
}

static int
verb_join(int argc, char **argv)
{
    struct pr_buf msg = {0};
    const char *timeout = NULL;
    const char *queue = "default";
    int i;

    if (rq_target(queue_option(argc, argv)) != NULL)
        return rq_join(argc, argv);

    for (i = 1; i < argc; i++) {
        int r = take_value(argc, argv, &i, "--timeout", &timeout);

        if (r < 0 || (r > 0 && !is_number(timeout, 0))) {
            fprintf(stderr, "poolrun: join: --timeout needs seconds\n");
            return EXIT_OWN_ERROR;
        }
        if (r == 0)
            queue = argv[i];
    }
    pr_buf_appendf(&msg, "{\"op\":\"join\",\"queue\":");
    text(&msg, queue, strlen(queue));
    pr_buf_appendf(&msg, ",\"timeout\":%s}", timeout ? timeout : "0");
    return simple_request("join", &msg, join_status);
}

static void
print_running(const struct pr_json *q)
{
    const struct pr_json *t;

    for (t = pr_json_first(pr_json_member(q, "running")); t != NULL;
         t = pr_json_next(t)) {
        struct pr_status_task st = {0};
        struct pr_buf line = {0};
        const char *cmd = "";

        /* The line the one-shot command's SIGUSR1 prints (status.h). */
        pr_json_get_string(pr_json_member(t, "id"), &st.id);
        pr_json_get_string(pr_json_member(t, "cmd"), &cmd);
        pr_json_get_number(pr_json_member(t, "runtime"), &st.runtime);
        st.seq = (uint64_t)member_long(t, "seq");
        st.pid = (int)member_long(t, "pid");
        st.slot = (unsigned)member_long(t, "slot");
        st.cmd = cmd;
        st.cmd_len = strlen(cmd);
        pr_status_task_line(&line, "  ", &st);
        fwrite(line.data, 1, line.len, stdout);
        pr_buf_free(&line);
    }
    for (t = pr_json_first(pr_json_member(q, "paused")); t != NULL;
         t = pr_json_next(t)) {
        const char *id = "", *cmd = "";

        pr_json_get_string(pr_json_member(t, "id"), &id);
        pr_json_get_string(pr_json_member(t, "cmd"), &cmd);
        printf("  paused %s (was running when the service died; `poolrun "
               "resume %s` runs it): %s\n",
               id, id, cmd);
    }
}

/* A queue's counts as the one-shot command's SIGUSR1 shows them; from a
 * service without "counts", its ok and failed. */
static void
print_counts(const struct pr_json *q)
{
    const struct pr_json *counts = pr_json_member(q, "counts");
    struct pr_status_counts c = {0};
    struct pr_buf line = {0};
    int s;

    c.done = (uint64_t)member_long(q, "total");
    c.by_status[PR_TASK_OK] = (uint64_t)member_long(q, "ok");
    c.by_status[PR_TASK_FAILED] = (uint64_t)member_long(q, "failed");
    for (s = 0; counts != NULL && s < PR_TASK_STATUS_COUNT; s++)
        c.by_status[s] = (uint64_t)member_long(
            counts, pr_task_status_name((enum pr_task_status)s));
    c.running = pr_json_count(pr_json_member(q, "running"));
    c.queued = (uint64_t)member_long(q, "queued");
    c.retrying = (uint64_t)member_long(q, "retrying");
    pr_status_counts_text(&line, &c);
    pr_buf_append(&line, "\n", 1);
    fwrite(line.data, 1, line.len, stdout);
    pr_buf_free(&line);
}

static int
status_print(const struct pr_json *reply)
{
    const struct pr_json *q;

    (void)reply;
    if (json_out) {
        fwrite(last_reply.data, 1, last_reply.len, stdout);
        putchar('\n');
        return fflush(stdout) == 0 ? 0 : EXIT_OWN_ERROR;
    }
    for (q = pr_json_first(pr_json_member(reply, "queues")); q != NULL;
         q = pr_json_next(q)) {
        const char *name = "";

        pr_json_get_string(pr_json_member(q, "name"), &name);
        printf("queue %s: -j %ld, %ld unfinished, ", name,
               member_long(q, "jobs"), member_long(q, "unfinished"));
        print_counts(q);
        print_running(q);
    }
    return fflush(stdout) == 0 ? 0 : EXIT_OWN_ERROR;
}

static int
verb_status(int argc, char **argv)
{
    struct pr_buf msg = {0};
    const char *queue = NULL;
    int i;

    if (rq_target(queue_option(argc, argv)) != NULL)
        return rq_status(argc, argv);

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json_out = 1;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "poolrun: status: unknown option %s\n", argv[i]);
            return EXIT_OWN_ERROR;
        } else
            queue = argv[i];
    }
    pr_buf_appendf(&msg, "{\"op\":\"status\"");
    if (queue != NULL) {
        pr_buf_appendf(&msg, ",\"queue\":");
        text(&msg, queue, strlen(queue));
    }
    pr_buf_append(&msg, "}", 1);
    return simple_request("status", &msg, status_print);
}

static int
shutdown_done(const struct pr_json *reply)
{
    (void)reply;
    return 0;
}

static int
verb_shutdown(int argc, char **argv)
{
    struct pr_buf msg = {0};
    int drain = argc > 1 && strcmp(argv[1], "--drain") == 0;

    if (argc > 2 || (argc == 2 && !drain)) {
        fprintf(stderr, "poolrun: shutdown: unknown argument %s\n", argv[1]);
        return EXIT_OWN_ERROR;
    }
    pr_buf_appendf(&msg, "{\"op\":\"shutdown\",\"drain\":%s}",
                   drain ? "true" : "false");
    return simple_request("shutdown", &msg, shutdown_done);
}

static int
cancel_print(const struct pr_json *reply)
{
    const struct pr_json *t;
    int status = 0;

    for (t = pr_json_first(pr_json_member(reply, "tasks")); t != NULL;
         t = pr_json_next(t)) {
        const char *id = "", *result = "";

        pr_json_get_string(pr_json_member(t, "id"), &id);
        pr_json_get_string(pr_json_member(t, "result"), &result);
        printf("%s: %s\n", id, result);
        if (strcmp(result, "cancelled") != 0 && strcmp(result, "stopping") != 0)
            status = 1;
    }
    return fflush(stdout) == 0 ? status : EXIT_OWN_ERROR;
}

/* poolrun cancel ID...: exit 0 if each was cancelled or is being stopped,
 * 1 if one had already ended (or cannot be cancelled). */
static int
verb_cancel(int argc, char **argv)
{
    struct pr_buf msg = {0};
    int i;

    if (rq_target(queue_option(argc, argv)) != NULL)
        return rq_cancel(argc, argv);

    if (argc < 2) {
        fprintf(stderr, "poolrun: cancel: which task ids?\n");
        return EXIT_OWN_ERROR;
    }
    pr_buf_appendf(&msg, "{\"op\":\"cancel\",\"ids\":[");
    for (i = 1; i < argc; i++) {
        if (i > 1)
            pr_buf_append(&msg, ",", 1);
        text(&msg, argv[i], strlen(argv[i]));
    }
    pr_buf_append(&msg, "]}", 2);
    return simple_request("cancel", &msg, cancel_print);
}

static int
resume_print(const struct pr_json *reply)
{
    const struct pr_json *t;
    int status = 0;

    for (t = pr_json_first(pr_json_member(reply, "tasks")); t != NULL;
         t = pr_json_next(t)) {
        const char *id = "", *result = "";

        pr_json_get_string(pr_json_member(t, "id"), &id);
        pr_json_get_string(pr_json_member(t, "result"), &result);
        printf("%s: %s\n", id, result);
        if (strcmp(result, "resumed") != 0)
            status = 1;
    }
    return fflush(stdout) == 0 ? status : EXIT_OWN_ERROR;
}

/* poolrun resume [ID...|--queue Q]: the tasks serve --start-paused holds
 * run (those named, Q's, or all); exit 1 if one named was not paused. */
static int
verb_resume(int argc, char **argv)
{
    struct pr_buf msg = {0};
    const char *queue = NULL;
    int i, n = 0, r;

    pr_buf_appendf(&msg, "{\"op\":\"resume\",\"ids\":[");
    for (i = 1; i < argc; i++) {
        if ((r = take_value(argc, argv, &i, "--queue", &queue)) != 0) {
            if (r > 0)
                continue;
            fprintf(stderr, "poolrun: resume: --queue needs a value\n");
            pr_buf_free(&msg);
            return EXIT_OWN_ERROR;
        }
        if (argv[i][0] == '-') {
            fprintf(stderr, "poolrun: resume: unknown option %s\n", argv[i]);
            pr_buf_free(&msg);
            return EXIT_OWN_ERROR;
        }
        if (n++ > 0)
            pr_buf_append(&msg, ",", 1);
        text(&msg, argv[i], strlen(argv[i]));
    }
    pr_buf_append(&msg, "]", 1);
    if (queue != NULL && n > 0) {
        fprintf(stderr, "poolrun: resume: task ids or --queue, not both\n");
        pr_buf_free(&msg);
        return EXIT_OWN_ERROR;
    }
    if (queue != NULL) {
        pr_buf_appendf(&msg, ",\"queue\":");
        text(&msg, queue, strlen(queue));
    }
    pr_buf_append(&msg, "}", 1);
    return simple_request("resume", &msg, resume_print);
}

/* poolrun close Q: the queue takes no more tasks; join still works. */
static int
verb_close(int argc, char **argv)
{
    struct pr_buf msg = {0};

    if (rq_target(queue_option(argc, argv)) != NULL)
        return rq_close(argc, argv);

    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "poolrun: close: which queue?\n");
        return EXIT_OWN_ERROR;
    }
    pr_buf_appendf(&msg, "{\"op\":\"close\",\"queue\":");
    text(&msg, argv[1], strlen(argv[1]));
    pr_buf_append(&msg, "}", 1);
    return simple_request("close", &msg, shutdown_done);
}

/* poolrun log ID --follow: its output so far, then as it comes, until it
 * ends; exits with its status, as `wait ID` does.  Without --follow: an
 * ended task's output, and 0. */
static int
log_task(const char *id, int follow)
{
    struct follow_end end = {0, 0, EXIT_OWN_ERROR};
    int fd = connect_service("log", 0);
    int rc = fd >= 0 ? follow_task("log", fd, id, follow, &end) : -1;

    if (fd >= 0)
        close(fd);
    if (rc != 0)
        return end.status;
    return follow ? end.code : 0;
}

/* poolrun log ID: the first bytes (--results-limit) of the task's stdout
 * and stderr, once it has ended; with --follow, as they come. */
static int
verb_log(int argc, char **argv)
{
    const char *id = NULL;
    int i, follow = 0, bad = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--follow") == 0 || strcmp(argv[i], "-f") == 0)
            follow = 1;
        else if (argv[i][0] != '-' && id == NULL)
            id = argv[i];
        else
            bad = 1; /* an unknown option, or a second id */
    }
    if (id == NULL || bad) {
        fprintf(stderr, "poolrun: log: which task id? (log ID [--follow])\n");
        return EXIT_OWN_ERROR;
    }
    return log_task(id, follow);
}

/* --- a queue in Redis: --queue redis://... or $POOLRUN_QUEUE ---------- */

/* How long one Redis command may take, unless --redis-timeout says. */
#define RQ_TIMEOUT_S 10.0
/* join polls the counts this often. */
#define RQ_JOIN_POLL_MS 20

/* The URL a verb goes to Redis with: --queue's value when it is a
 * redis:// URL; with no --queue, $POOLRUN_QUEUE; else NULL (the local
 * service). */
static const char *
rq_target(const char *given)
{
    const char *env = getenv("POOLRUN_QUEUE");

    if (given != NULL)
        return pr_rq_is_url(given) ? given : NULL;
    return env != NULL && env[0] != '\0' ? env : NULL;
}

/* --queue's value among argv (a client verb's own options), or NULL. */
static const char *
queue_option(int argc, char **argv)
{
    const char *v = NULL;
    int i;

    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (take_value(argc, argv, &i, "--queue", &v) < 0)
            return NULL;
    return v;
}

/* What every verb on a Redis queue takes. */
struct rq_opts {
    const char *url;           /* the queue's URL */
    const char *password_file; /* --password-file FILE */
    const char *timeout;       /* --redis-timeout S */
};

/* One of --queue, --password-file, --redis-timeout: as take_value. */
static int
rq_common_option(int argc, char **argv, int *i, struct rq_opts *ro)
{
    int r = take_value(argc, argv, i, "--queue", &ro->url);

    if (r == 0)
        r = take_value(argc, argv, i, "--password-file", &ro->password_file);
    if (r == 0)
        r = take_value(argc, argv, i, "--redis-timeout", &ro->timeout);
    return r;
}

/* The password: --password-file's first line, else
 * $POOLRUN_REDIS_PASSWORD, else NULL; the variable is taken out of the
 * environment, so that no task inherits it.  Returns 0, or -1 after saying
 * why (the file's name, never its text). */
static int
rq_password(const char *verb, const char *file, char *buf, size_t n,
            const char **out)
{
    const char *env = getenv("POOLRUN_REDIS_PASSWORD");
    FILE *f;
    size_t len;

    *out = NULL;
    if (env != NULL && file == NULL) {
        snprintf(buf, n, "%s", env);
        *out = buf;
    }
    unsetenv("POOLRUN_REDIS_PASSWORD");
    if (file == NULL)
        return 0;
    if ((f = fopen(file, "re")) == NULL) {
        fprintf(stderr, "poolrun: %s: --password-file %s: %s\n", verb, file,
                pr_err_text(-errno));
        return -1;
    }
    if (fgets(buf, (int)n, f) == NULL)
        buf[0] = '\0';
    fclose(f);
    len = strcspn(buf, "\r\n");
    buf[len] = '\0';
    *out = buf;
    return 0;
}

/* Parses the URL and the options of ro into c (u holds the parts).
 * Returns 0, or -1 after saying why: the URL is never repeated, since a
 * refused one may hold a password. */
static int
rq_config(const char *verb, const struct rq_opts *ro, struct pr_rq_url *u,
          struct pr_rq_config *c, char *pw, size_t pwlen)
{
    const char *why = NULL;
    double t = RQ_TIMEOUT_S;

    memset(c, 0, sizeof(*c));
    if (!pr_rq_built_in()) {
        fprintf(stderr,
                "poolrun: %s: this poolrun was built without Redis support "
                "(no hiredis): see README.md, \"Many machines\"\n",
                verb);
        return -1;
    }
    if (pr_rq_url_parse(ro->url, u, &why) != 0) {
        fprintf(stderr, "poolrun: %s: %s: %s\n", verb,
                ro->url == getenv("POOLRUN_QUEUE") ? "$POOLRUN_QUEUE"
                                                   : "--queue",
                why);
        return -1;
    }
    if (ro->timeout != NULL &&
        (pr_parse_seconds(ro->timeout, &t) != 0 || t <= 0)) {
        fprintf(stderr, "poolrun: %s: --redis-timeout must be seconds > 0\n",
                verb);
        pr_rq_url_free(u);
        return -1;
    }
    c->url = u;
    c->timeout = t;
    if (rq_password(verb, ro->password_file, pw, pwlen, &c->password) != 0) {
        pr_rq_url_free(u);
        return -1;
    }
    return 0;
}

/* A failed Redis call, said: where, what, and the server's own words. */
static void
rq_failed(const char *verb, const struct pr_rq_url *u,
          const struct pr_rq_client *c, int rc)
{
    const char *words = pr_rq_client_error(c);
    const char *what = rc == UV_EACCES         ? "not allowed (password?)"
                       : rc == UV_ETIMEDOUT    ? "no answer in time"
                       : rc == UV_EPERM        ? "the queue is closed"
                       : rc == UV_ECONNREFUSED ? "cannot connect"
                                               : pr_err_text(rc);

    fprintf(stderr, "poolrun: %s: redis://%s:%d/%s: %s%s%s\n", verb, u->host,
            u->port, u->name, what, words[0] != '\0' ? ": " : "", words);
}

/* Connects for verb; returns the client, or NULL after saying why. */
static struct pr_rq_client *
rq_open(const char *verb, const struct rq_opts *ro, struct pr_rq_url *u)
{
    struct pr_rq_config cfg;
    struct pr_rq_client *c = NULL;
    char pw[1024];
    int rc;

    if (rq_config(verb, ro, u, &cfg, pw, sizeof(pw)) != 0)
        return NULL;
    rc = pr_rq_client_open(&c, &cfg);
    memset(pw, 0, sizeof(pw));
    if (rc == 0)
        return c;
    rq_failed(verb, u, c, rc);
    pr_rq_client_free(c);
    pr_rq_url_free(u);
    return NULL;
}

/* A task without an id of its own is named by its place in the submit and
 * its text: submitting the same input again gives the same ids. */
static void
rq_made_id(char *buf, size_t n, size_t place, const char *p, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    char num[32];
    size_t i, k = (size_t)snprintf(num, sizeof(num), "%zu:", place);

    for (i = 0; i < k + len; i++) {
        h ^= (unsigned char)(i < k ? num[i] : p[i - k]);
        h *= 1099511628211ULL;
    }
    snprintf(buf, n, "t%016llx", (unsigned long long)h);
}

/* Splits the JSON Lines into tasks and their ids (the line's own "id",
 * --id for one task, or a made one), *n of each.  Returns 0, or -1 after
 * saying why. */
static int
rq_tasks(const struct submit_opts *o, struct pr_buf *jsonl, char ***ids,
         char ***tasks, long *count)
{
    size_t at = 0, n = 0;

    while (at < jsonl->len) {
        char *nl = memchr(jsonl->data + at, '\n', jsonl->len - at);
        size_t len = (nl ? (size_t)(nl - jsonl->data) : jsonl->len) - at;
        struct pr_task *t = NULL;
        struct pr_diag d;
        char made[32];

        if (pr_jobline_parse("stdin", n + 1, jsonl->data + at, len, &t, &d) !=
            0) {
            fprintf(stderr, "poolrun: submit: %s\n", d.msg);
            return -1;
        }
        *ids = pr_xrealloc(*ids, (n + 1) * sizeof(**ids));
        *tasks = pr_xrealloc(*tasks, (n + 1) * sizeof(**tasks));
        rq_made_id(made, sizeof(made), n + 1, jsonl->data + at, len);
        (*ids)[n] =
            pr_xstrdup(t->spec != NULL && t->spec->id != NULL ? t->spec->id
                       : o->id != NULL                        ? o->id
                                                              : made);
        (*tasks)[n++] = pr_xmemdup(jsonl->data + at, len);
        *count = (long)n;
        pr_task_free(t);
        at += len + 1;
    }
    return 0;
}

static void
free_strings(char **v, long n)
{
    long i;

    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* A value of a parsed document as JSON text again. */
static void
json_value(struct pr_buf *b, const struct pr_json *v)
{
    const struct pr_json *m;
    const char *str;
    double x;
    int t, n = 0;

    switch (pr_json_type(v)) {
    case PR_JSON_BOOL:
        pr_json_get_bool(v, &t);
        pr_buf_appendf(b, "%s", t ? "true" : "false");
        return;
    case PR_JSON_NUMBER:
        pr_json_get_number(v, &x);
        pr_buf_appendf(b, "%.17g", x);
        return;
    case PR_JSON_STRING:
        pr_json_get_string(v, &str);
        text(b, str, strlen(str));
        return;
    case PR_JSON_ARRAY:
    case PR_JSON_OBJECT:
        t = pr_json_type(v) == PR_JSON_OBJECT;
        pr_buf_append(b, t ? "{" : "[", 1);
        for (m = pr_json_first(v); m != NULL; m = pr_json_next(m)) {
            if (n++ > 0)
                pr_buf_append(b, ",", 1);
            if (t) {
                text(b, pr_json_key(m), strlen(pr_json_key(m)));
                pr_buf_append(b, ":", 1);
            }
            json_value(b, m);
        }
        pr_buf_append(b, t ? "}" : "]", 1);
        return;
    default:
        pr_buf_appendf(b, "null");
    }
}

/* ,"key":value, or the task's resolved cwd for "cwd". */
static void
json_member(struct pr_buf *b, const struct pr_json *m, const char *cwd)
{
    if (b->data[b->len - 1] != '{')
        pr_buf_append(b, ",", 1);
    text(b, pr_json_key(m), strlen(pr_json_key(m)));
    pr_buf_append(b, ":", 1);
    if (strcmp(pr_json_key(m), "cwd") == 0 && cwd != NULL)
        text(b, cwd, strlen(cwd));
    else
        json_value(b, m);
}

/* Task t of a job file as a line of JSON Lines that stands alone: the
 * defaults it does not override in it, env merged by name (the task's
 * win), cwd resolved against the file's folder (as the one-shot's). */
static void
jobfile_task(struct pr_buf *b, const struct pr_json *def,
             const struct pr_json *t, const char *cwd)
{
    const struct pr_json *denv = pr_json_member(def, "env");
    const struct pr_json *tenv = pr_json_member(t, "env");
    const struct pr_json *m;

    pr_buf_append(b, "{", 1);
    for (m = pr_json_first(def); m != NULL; m = pr_json_next(m))
        if (pr_json_member(t, pr_json_key(m)) == NULL)
            json_member(b, m, cwd);
    for (m = pr_json_first(t); m != NULL; m = pr_json_next(m))
        if (m != tenv || denv == NULL)
            json_member(b, m, cwd);
    if (tenv != NULL && denv != NULL) {
        pr_buf_appendf(b, ",\"env\":{");
        for (m = pr_json_first(denv); m != NULL; m = pr_json_next(m))
            if (pr_json_member(tenv, pr_json_key(m)) == NULL)
                json_member(b, m, NULL);
        for (m = pr_json_first(tenv); m != NULL; m = pr_json_next(m))
            json_member(b, m, NULL);
        pr_buf_append(b, "}", 1);
    }
    pr_buf_append(b, "}\n", 2);
}

/* submit -f FILE to Redis: the file checked whole as the one-shot checks
 * it, then each task as a line of JSON Lines.  Returns 0, or -1 after
 * saying why. */
static int
rq_jobfile(const char *path, const struct pr_buf *file, struct pr_buf *jsonl)
{
    struct pr_jobfile jf;
    struct pr_json_doc *doc = NULL;
    struct pr_json_error jerr;
    struct pr_diag d;
    const struct pr_json *root, *t;
    size_t i = 0;
    int rc;

    pr_jobfile_init(&jf);
    rc = pr_jobfile_load(&jf, path, &d);
    if (rc == 0)
        rc = pr_jobfile_check_ids(&jf, &d);
    if (rc != 0)
        fprintf(stderr, "poolrun: submit: %s\n", d.msg);
    if (rc == 0 &&
        pr_json_parse_strict(file->data, file->len, &doc, &jerr) == 0) {
        root = pr_json_root(doc);
        for (t = pr_json_first(pr_json_member(root, "tasks"));
             t != NULL && i < jf.ntasks; t = pr_json_next(t), i++)
            jobfile_task(jsonl, pr_json_member(root, "defaults"), t,
                         jf.tasks[i]->spec ? jf.tasks[i]->spec->cwd : NULL);
    }
    pr_json_free(doc);
    pr_jobfile_free(&jf);
    return rc == 0 ? 0 : -1;
}

/* submit --queue redis://...: the tasks go to the stream, each id once;
 * prints each task's id. */
static int
rq_submit(const struct submit_opts *o, struct pr_buf *jsonl,
          const struct pr_buf *jobfile)
{
    struct rq_opts ro = {o->queue, o->password_file, o->redis_timeout};
    struct pr_rq_client *c;
    struct pr_rq_url u;
    char **ids = NULL, **tasks = NULL;
    uint64_t added = 0;
    long n = 0, i;
    int rc;

    if (o->wait || o->nafter > 0 || o->jobs != NULL) {
        fprintf(stderr, "poolrun: submit: %s: not with a Redis queue (yet)\n",
                o->wait   ? "--wait"
                : o->jobs ? "-j"
                          : "--after");
        return EXIT_OWN_ERROR;
    }
    if (o->jobfile != NULL && rq_jobfile(o->jobfile, jobfile, jsonl) != 0)
        return EXIT_OWN_ERROR;
    if (bad_text != NULL) {
        fprintf(stderr,
                "poolrun: submit: not UTF-8 text, which a task in "
                "Redis cannot carry: %s\n",
                bad_text);
        return EXIT_OWN_ERROR;
    }
    if (rq_tasks(o, jsonl, &ids, &tasks, &n) != 0) {
        free_strings(ids, n);
        free_strings(tasks, n);
        return EXIT_OWN_ERROR;
    }
    if ((c = rq_open("submit", &ro, &u)) == NULL) {
        free_strings(ids, n);
        free_strings(tasks, n);
        return EXIT_OWN_ERROR;
    }
    rc = pr_rq_submit(c, (size_t)n, (const char *const *)ids,
                      (const char *const *)tasks, &added);
    if (rc != 0)
        rq_failed("submit", &u, c, rc);
    for (i = 0; rc == 0 && i < n; i++)
        printf("%s\n", ids[i]);
    free_strings(ids, n);
    free_strings(tasks, n);
    pr_rq_client_free(c);
    pr_rq_url_free(&u);
    if (rc != 0)
        return EXIT_OWN_ERROR;
    return fflush(stdout) == 0 ? 0 : EXIT_OWN_ERROR;
}

/* Parses a Redis verb's options: the common ones, those in `flags` (set
 * to 1 when given), --timeout and --results when asked for; the other
 * words go to args.  Returns 0, or -1 after saying why. */
struct rq_args {
    struct rq_opts ro;
    const char *timeout; /* join --timeout */
    const char *results; /* join --results */
    int json;            /* status --json */
    char **words;        /* the rest, in order */
    int nwords;
};

static int
rq_parse(const char *verb, int argc, char **argv, int want_join,
         struct rq_args *a)
{
    int i, r;

    memset(a, 0, sizeof(*a));
    a->words = pr_xcalloc((size_t)argc + 1, sizeof(*a->words));
    for (i = 1; i < argc; i++) {
        r = rq_common_option(argc, argv, &i, &a->ro);
        if (r == 0 && want_join) {
            r = take_value(argc, argv, &i, "--timeout", &a->timeout);
            if (r == 0)
                r = take_value(argc, argv, &i, "--results", &a->results);
        }
        if (r == 0 && strcmp(argv[i], "--json") == 0 && !want_join) {
            a->json = 1;
            continue;
        }
        if (r < 0) {
            fprintf(stderr, "poolrun: %s: %s needs a value\n", verb, argv[i]);
            return -1;
        }
        if (r > 0)
            continue;
        if (argv[i][0] == '-') {
            fprintf(stderr, "poolrun: %s: unknown option %s\n", verb, argv[i]);
            return -1;
        }
        a->words[a->nwords++] = argv[i];
    }
    if (a->ro.url == NULL)
        a->ro.url = getenv("POOLRUN_QUEUE");
    return 0;
}

/* Seconds since the oldest running task was submitted, or -1. */
static double
rq_oldest_age(const struct pr_rq_counts *n)
{
    if (n->oldest_ms == 0)
        return -1;
    return n->now_ms > n->oldest_ms ? (double)(n->now_ms - n->oldest_ms) / 1e3
                                    : 0;
}

static void
rq_status_json(const struct pr_rq_counts *n)
{
    struct pr_buf b = {0};
    double age = rq_oldest_age(n);
    size_t i;

    pr_buf_appendf(
        &b,
        "{\"submitted\":%llu,\"done\":%llu,\"failed\":%llu,"
        "\"running\":%llu,\"waiting\":%llu,\"workers\":%llu,"
        "\"closed\":%s,\"oldest_running_s\":",
        (unsigned long long)n->submitted, (unsigned long long)n->done,
        (unsigned long long)n->failed, (unsigned long long)n->pending,
        (unsigned long long)n->waiting, (unsigned long long)n->consumers,
        n->closed ? "true" : "false");
    if (age < 0)
        pr_buf_appendf(&b, "null");
    else
        pr_buf_appendf(&b, "%.3f", age);
    pr_buf_appendf(&b, ",\"nodes\":{");
    for (i = 0; i < n->nnodes && i < PR_RQ_NODES; i++) {
        if (i > 0)
            pr_buf_append(&b, ",", 1);
        pr_json_append_string(&b, n->node[i].name, strlen(n->node[i].name));
        pr_buf_appendf(&b, ":%llu", (unsigned long long)n->node[i].inflight);
    }
    pr_buf_appendf(&b, "}}\n");
    fwrite(b.data, 1, b.len, stdout);
    pr_buf_free(&b);
}

static void
rq_status_text(const struct pr_rq_counts *n, const char *name)
{
    double age = rq_oldest_age(n);
    size_t i;

    printf("queue %s: %llu submitted, %llu done (%llu failed), %llu "
           "running, %llu waiting, %llu workers%s\n",
           name, (unsigned long long)n->submitted, (unsigned long long)n->done,
           (unsigned long long)n->failed, (unsigned long long)n->pending,
           (unsigned long long)n->waiting, (unsigned long long)n->consumers,
           n->closed ? ", closed" : "");
    if (age >= 0)
        printf("oldest running task submitted %.1f s ago\n", age);
    for (i = 0; i < n->nnodes && i < PR_RQ_NODES; i++)
        printf("node %s: %llu running\n", n->node[i].name,
               (unsigned long long)n->node[i].inflight);
    if (n->nnodes > PR_RQ_NODES)
        printf("and %zu more nodes\n", n->nnodes - PR_RQ_NODES);
}

/* Entries a node holds per --workers process without --inflight. */
#define RQ_WORKER_AHEAD 32

static int
rq_status(int argc, char **argv)
{
    struct rq_args a;
    struct pr_rq_client *c = NULL;
    struct pr_rq_counts n;
    struct pr_rq_url u;
    int rc = -1;

    int ok = rq_parse("status", argc, argv, 0, &a) == 0;

    if (ok && a.nwords > 0)
        fprintf(stderr, "poolrun: status: --queue names the queue\n");
    else if (ok && (c = rq_open("status", &a.ro, &u)) != NULL) {
        rc = pr_rq_counts(c, &n);
        if (rc != 0)
            rq_failed("status", &u, c, rc);
    }
    if (rc == 0 && a.json)
        rq_status_json(&n);
    else if (rc == 0)
        rq_status_text(&n, u.name);
    if (c != NULL) {
        pr_rq_client_free(c);
        pr_rq_url_free(&u);
    }
    free(a.words);
    return rc != 0 ? EXIT_OWN_ERROR : fflush(stdout) == 0 ? 0 : EXIT_OWN_ERROR;
}

static void
write_result(void *data, const char *id, const char *json, size_t len)
{
    FILE *f = data;

    (void)id;
    fwrite(json, 1, len, f);
    fputc('\n', f);
}

/* join --results FILE: every result recorded, one JSON object a line. */
static int
rq_write_results(struct pr_rq_client *c, const struct pr_rq_url *u,
                 const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "we");
    int rc;

    if (f == NULL) {
        fprintf(stderr, "poolrun: join: --results %s: %s\n", path,
                pr_err_text(-errno));
        return -1;
    }
    rc = pr_rq_each_result(c, write_result, f);
    if (rc != 0)
        rq_failed("join", u, c, rc);
    if ((f == stdout ? fflush(f) : fclose(f)) != 0 && rc == 0) {
        fprintf(stderr, "poolrun: join: --results %s: %s\n", path,
                pr_err_text(-errno));
        rc = -1;
    }
    return rc;
}

/* Waits until every task submitted has a result, or the timeout. */
static int
rq_join_wait(struct pr_rq_client *c, const struct pr_rq_url *u, double limit,
             struct pr_rq_counts *n)
{
    uint64_t start = uv_hrtime();
    int rc;

    while ((rc = pr_rq_counts(c, n)) == 0 && n->done < n->submitted) {
        if (limit > 0 && (double)(uv_hrtime() - start) / 1e9 >= limit)
            return UV_ETIMEDOUT;
        sleep_ms(RQ_JOIN_POLL_MS);
    }
    if (rc != 0)
        rq_failed("join", u, c, rc);
    return rc;
}

/* join: exits as the one-shot command would over the same tasks (the
 * number that failed), 124 at the timeout. */
static int
rq_join(int argc, char **argv)
{
    struct rq_args a;
    struct pr_rq_client *c = NULL;
    struct pr_rq_counts n;
    struct pr_rq_url u;
    double limit = 0;
    int rc = -1, status = EXIT_OWN_ERROR;

    if (rq_parse("join", argc, argv, 1, &a) != 0)
        goto out;
    if (a.nwords > 0 ||
        (a.timeout != NULL && pr_parse_seconds(a.timeout, &limit) != 0)) {
        fprintf(stderr, "poolrun: join: %s\n",
                a.nwords > 0 ? "--queue names the queue"
                             : "--timeout needs seconds");
        goto out;
    }
    if ((c = rq_open("join", &a.ro, &u)) == NULL)
        goto out;
    rc = rq_join_wait(c, &u, limit, &n);
    if (rc == UV_ETIMEDOUT)
        status = EXIT_TIMEOUT;
    else if (rc == 0)
        status = failed_status((long)n.failed);
    if ((rc == 0 || rc == UV_ETIMEDOUT) && a.results != NULL &&
        rq_write_results(c, &u, a.results) != 0)
        status = EXIT_OWN_ERROR;
    pr_rq_client_free(c);
    pr_rq_url_free(&u);
out:
    free(a.words);
    return status;
}

static int
rq_close(int argc, char **argv)
{
    struct rq_args a;
    struct pr_rq_client *c = NULL;
    struct pr_rq_url u;
    int rc = -1;

    int ok = rq_parse("close", argc, argv, 0, &a) == 0;

    if (ok && a.nwords > 0)
        fprintf(stderr, "poolrun: close: --queue names the queue\n");
    else if (ok && (c = rq_open("close", &a.ro, &u)) != NULL) {
        rc = pr_rq_close_queue(c);
        if (rc != 0)
            rq_failed("close", &u, c, rc);
        pr_rq_client_free(c);
        pr_rq_url_free(&u);
    }
    free(a.words);
    return rc == 0 ? 0 : EXIT_OWN_ERROR;
}

/* cancel ID...: exit 0 if each was cancelled, 1 if one had a result
 * already or is unknown. */
static int
rq_cancel(int argc, char **argv)
{
    struct rq_args a;
    struct pr_rq_client *c = NULL;
    struct pr_rq_url u;
    const char *result;
    int i, rc = 0, status = EXIT_OWN_ERROR;
    int ok = rq_parse("cancel", argc, argv, 0, &a) == 0;

    if (ok && a.nwords == 0)
        fprintf(stderr, "poolrun: cancel: which task ids?\n");
    else if (ok && (c = rq_open("cancel", &a.ro, &u)) != NULL) {
        status = 0;
        for (i = 0; rc == 0 && i < a.nwords; i++) {
            rc = pr_rq_cancel(c, a.words[i], &result);
            if (rc != 0)
                rq_failed("cancel", &u, c, rc);
            else
                printf("%s: %s\n", a.words[i], result);
            if (rc == 0 && strcmp(result, "cancelled") != 0)
                status = 1;
        }
        pr_rq_client_free(c);
        pr_rq_url_free(&u);
    }
    free(a.words);
    if (rc != 0)
        return EXIT_OWN_ERROR;
    return fflush(stdout) == 0 ? status : EXIT_OWN_ERROR;
}

/* --- poolrun worker ---------------------------------------------------- */

/* The worker's own options; the rest are the one-shot command's. */
struct worker_opts {
    struct rq_opts ro;
    const char *node;
    const char *lease, *renew, *block, *attempts;
    struct pr_rq_url url;
    char password[1024];
    struct pr_rq_worker_config w;
};

/* Takes the worker's own options out of argv; the rest stay, in order.
 * Returns 0, or -1 after saying why. */
static int
worker_take(int *argc, char **argv, struct worker_opts *wo)
{
    static const struct {
        const char *name;
        size_t field;
    } opts[] = {
        {"--node", offsetof(struct worker_opts, node)},
        {"--lease", offsetof(struct worker_opts, lease)},
        {"--renew", offsetof(struct worker_opts, renew)},
        {"--block", offsetof(struct worker_opts, block)},
        {"--attempts", offsetof(struct worker_opts, attempts)},
    };
    int i, k = 1, r;
    size_t j;

    for (i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        r = rq_common_option(*argc, argv, &i, &wo->ro);
        for (j = 0; r == 0 && j < sizeof(opts) / sizeof(opts[0]); j++)
            r = take_value(*argc, argv, &i, opts[j].name,
                           (const char **)(void *)((char *)wo + opts[j].field));
        if (r < 0) {
            fprintf(stderr, "poolrun: worker: %s needs a value\n", argv[i]);
            return -1;
        }
        if (r == 0)
            argv[k++] = argv[i];
    }
    for (; i < *argc; i++)
        argv[k++] = argv[i];
    argv[k] = NULL;
    *argc = k;
    return 0;
}

/* A timing option in seconds (> 0) as milliseconds into *ms. */
static int
worker_ms(const char *name, const char *v, unsigned *ms)
{
    double s;

    if (v == NULL)
        return 0;
    if (pr_parse_seconds(v, &s) != 0 || s <= 0 || s > 86400) {
        fprintf(stderr,
                "poolrun: worker: %s must be seconds from 0 to 86400 "
                "(not 0)\n",
                name);
        return -1;
    }
    *ms = (unsigned)pr_seconds_to_ms(s);
    if (*ms == 0)
        *ms = 1;
    return 0;
}

/* What the worker's source says while it goes on (Redis went away). */
static void
worker_note(void *data, const char *msg)
{
    char line[640];

    (void)data;
    snprintf(line, sizeof(line), "poolrun: worker: %s", msg);
    pr_main_say(line);
}

/* The worker's configuration from its options and cfg's -j. */
static int
worker_config(struct worker_opts *wo, const struct pr_config *cfg)
{
    struct pr_rq_worker_config *w = &wo->w;
    static char node[300];
    long n = 3;

    w->block_ms = 2000;
    w->renew_ms = 5000;
    w->lease_ms = 20000;
    w->output_limit = 65536;
    if (worker_ms("--lease", wo->lease, &w->lease_ms) != 0 ||
        worker_ms("--renew", wo->renew, &w->renew_ms) != 0 ||
        worker_ms("--block", wo->block, &w->block_ms) != 0)
        return -1;
    if (wo->attempts != NULL &&
        pr_parse_long(wo->attempts, 1, 1000000, &n) != 0) {
        fprintf(stderr, "poolrun: worker: --attempts must be a whole number "
                        "from 1 to 1000000\n");
        return -1;
    }
    w->attempts = (unsigned)n;
    if (w->renew_ms >= w->lease_ms) {
        fprintf(stderr, "poolrun: worker: --renew must be shorter than "
                        "--lease (a live worker's tasks would be taken)\n");
        return -1;
    }
    if (wo->node == NULL) {
        char host[256] = "localhost";

        gethostname(host, sizeof(host) - 1);
        snprintf(node, sizeof(node), "%s:%ld", host, (long)getpid());
        wo->node = node;
    }
    w->node = wo->node;
    w->slots = cfg->pool.jobs > 0 ? cfg->pool.jobs : 64;
    /* Daemon workers take tasks ahead (--inflight): a fetch for one free
     * slot at a time would cost a round trip per tiny task. */
    if (cfg->workers.cmd != NULL)
        w->slots *= cfg->workers.inflight_fixed ? cfg->workers.inflight
                                                : RQ_WORKER_AHEAD;
    else
        w->ahead = w->slots; /* one more per slot, while tasks are short */
    w->on_note = worker_note;
    return 0;
}

static struct pr_source *
worker_source(uv_loop_t *loop, void *data)
{
    struct worker_opts *wo = data;
    struct pr_source *src = NULL;
    int rc = pr_rq_source_new(&src, loop, &wo->w);

    if (rc != 0)
        fprintf(stderr, "poolrun: worker: %s\n", pr_err_text(rc));
    return src;
}

/* poolrun worker --queue URL [worker options] [one-shot options]: runs the
 * queue's tasks here with the local pool until SIGINT or SIGTERM. */
static int
verb_worker(int argc, char **argv)
{
    struct worker_opts wo;
    struct pr_config cfg;
    char err[512] = "";
    int status = EXIT_OWN_ERROR;

    memset(&wo, 0, sizeof(wo));
    if (worker_take(&argc, argv, &wo) != 0)
        return EXIT_OWN_ERROR;
    if (wo.ro.url == NULL)
        wo.ro.url = getenv("POOLRUN_QUEUE");
    if (wo.ro.url == NULL) {
        fprintf(stderr, "poolrun: worker: which queue? (--queue "
                        "redis://HOST[:PORT][/DB]/NAME or $POOLRUN_QUEUE)\n");
        return EXIT_OWN_ERROR;
    }
    if (pr_options_parse(argc, argv, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "poolrun: worker: %s\n", err);
        return EXIT_OWN_ERROR;
    }
    if (cfg.ncommand > 0 || cfg.ninputs > 0 || cfg.njob_files > 0)
        fprintf(stderr, "poolrun: worker: takes options only: tasks come "
                        "from the queue\n");
    else if (worker_config(&wo, &cfg) == 0 &&
             rq_config("worker", &wo.ro, &wo.url, &wo.w.conn, wo.password,
                       sizeof(wo.password)) == 0) {
        status = pr_main_run_worker(&cfg, worker_source, &wo);
        pr_rq_url_free(&wo.url);
    }
    memset(wo.password, 0, sizeof(wo.password));
    pr_options_free(&cfg);
    return status;
}

#define REDIS_OPTIONS                                                          \
    "REDIS OPTIONS: --password-file FILE (else $POOLRUN_REDIS_PASSWORD;\n"     \
    "  never in the URL), --redis-timeout S (10).\n"

static const char *const verb_usage[][2] = {
    {"serve", "Usage: poolrun serve [--state DIR] [--start-paused] [OPTIONS]\n"
              "Runs the queue service here until shutdown.  OPTIONS are the\n"
              "one-shot command's (-j, --timeout, --retries...): every\n"
              "queue's defaults.  DIR keeps the journal (default\n"
              "$XDG_STATE_HOME/poolrun).\n"
              "--start-paused: a task that was running when the service\n"
              "died waits for `poolrun resume` instead of running again\n"
              "(tasks that never started run as usual).\n"
              "--joblog FILE, --results FILE: each queue its own, FILE with\n"
              "{queue} replaced by the queue's name; added to, never cut.\n"},
    {"submit",
     "Usage: poolrun submit [--queue Q] [--id ID] [--after ID[:ok|:any]]...\n"
     "         [--wait] [-j N] [TASK OPTIONS] [COMMAND [ARG...]]\n"
     "       poolrun submit [OPTIONS] [INPUT OPTIONS] COMMAND [ARG...]\n"
     "         ::: ITEM...   (or -a FILE; -a - reads stdin)\n"
     "       poolrun submit [OPTIONS] [--json] < LINES\n"
     "       poolrun submit [OPTIONS] -f JOBS.json\n"
     "Puts COMMAND on queue Q (default: default) as one task, its words as\n"
     "they are; with items, one task per item, filled in as `poolrun\n"
     "COMMAND ::: ITEM...` would ({} {.} {/} {//} {/.}, {#} counts the\n"
     "submit's tasks); else each line of stdin (a task object with\n"
     "--json).  Prints each id.  An item is never run as code.\n"
     "INPUT OPTIONS: -a FILE, -0, -d C, -n N, -r, -E STR, -I STR, --shell.\n"
     "TASK OPTIONS: --timeout S, --retries N, --retry-on LIST,\n"
     "  --on-done CMD, --on-fail CMD, --env NAME=VALUE (repeatable),\n"
     "  --cwd DIR (default: here, and this environment), --priority N\n"
     "  (the highest waiting task starts first).\n"
     "--wait prints each task's output as it comes (one task after the\n"
     "other), as `log ID --follow` does, and exits as `poolrun wait`.\n"
     "-j N sets Q's -j from now on (the running service keeps it).\n"
     "With --queue redis://[USER@]HOST[:PORT][/DB]/NAME (or $POOLRUN_QUEUE)\n"
     "the tasks go to that Redis queue, each with a stable id (its own, or\n"
     "one made of its place and text): submitting again changes "
     "nothing.\n" REDIS_OPTIONS},
    {"status", "Usage: poolrun status [Q] [--json]\n"
               "       poolrun status --queue URL [--json] [REDIS "
               "OPTIONS]\n" REDIS_OPTIONS},
    {"join", "Usage: poolrun join [Q] [--timeout S]\n"
             "       poolrun join --queue URL [--timeout S] [--results FILE]\n"
             "Exit: the number of failed tasks (101: more than 100), 124 at\n"
             "the timeout (nothing is cancelled).  --results FILE (- for\n"
             "stdout): a Redis queue's results, one JSON object a "
             "line.\n" REDIS_OPTIONS},
    {"wait", "Usage: poolrun wait ID... [--timeout S]\n"
             "Exit: one task's code, or how many did not succeed.\n"},
    {"log", "Usage: poolrun log ID [--follow]\n"
            "Prints what the service kept of the task's stdout and stderr\n"
            "(the first --results-limit bytes of each) once it has ended.\n"
            "--follow, -f: what it has written so far, then its output as it\n"
            "comes, until it ends (a queued task is waited for); exits with\n"
            "the task's status, as `poolrun wait ID`.  Interrupting it leaves\n"
            "the task alone.  More than 4 MiB waiting for a slow reader:\n"
            "bytes are left out, and a line on stderr says how many.\n"},
    {"cancel", "Usage: poolrun cancel ID...\n"
               "       poolrun cancel --queue URL ID...\n" REDIS_OPTIONS},
    {"resume", "Usage: poolrun resume [ID...|--queue Q]\n"
               "Runs the tasks serve --start-paused holds: those named, Q's,\n"
               "or with no argument all of them; each as a new attempt.\n"
               "Exit: 1 if a task named was not paused.\n"},
    {"close", "Usage: poolrun close Q\n"
              "       poolrun close --queue URL\n" REDIS_OPTIONS},
    {"worker",
     "Usage: poolrun worker --queue URL [WORKER OPTIONS] [OPTIONS]\n"
     "Runs the tasks of the Redis queue at URL (or $POOLRUN_QUEUE) here,\n"
     "with the one-shot command's OPTIONS (-j, --timeout, --retries,\n"
     "--workers...), until SIGINT or SIGTERM: then it hands back the tasks\n"
     "it had not started, and lets the running ones finish within --grace\n"
     "S (5) before it stops them and hands them back too.\n"
     "WORKER OPTIONS: --node NAME (HOST:PID), --lease S (20: a task idle\n"
     "  this long is taken by another worker), --renew S (5), --block S\n"
     "  (2), --attempts N (3: past it a task is recorded "
     "lost).\n" REDIS_OPTIONS},
    {"shutdown", "Usage: poolrun shutdown [--drain]\n"},
    {"report",
     "Usage: poolrun report RUN [-o FILE.html|FILE.svg]\n"
     "Draws a finished run from its --results FILE (or, with less detail,\n"
     "its --joblog FILE; - reads standard input): a timeline with a row per slot and a bar per\n"
     "attempt coloured by status, the tasks finished over time, the\n"
     "slowest ten and the failed tasks with the head of their output.  One\n"
     "self-contained file; the format from -o's suffix (HTML on stdout\n"
     "without -o).  Exit: 0, or 255 for bad input.\n"},
};

/* VERB --help or -h: its usage on stdout. */
static int
verb_help(const char *verb, int argc, char **argv)
{
    size_t i;

    if (argc != 2 ||
        (strcmp(argv[1], "--help") != 0 && strcmp(argv[1], "-h") != 0))
        return 0;
    for (i = 0; i < sizeof(verb_usage) / sizeof(verb_usage[0]); i++)
        if (strcmp(verb_usage[i][0], verb) == 0)
            fputs(verb_usage[i][1], stdout);
    return 1;
}

int
pr_verb_run(int argc, char **argv, int *status)
{
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
    } verbs[] = {
        {"serve", verb_serve},   {"submit", verb_submit},
        {"status", verb_status}, {"join", verb_join},
        {"wait", verb_wait},     {"shutdown", verb_shutdown},
        {"cancel", verb_cancel}, {"close", verb_close},
        {"log", verb_log},       {"resume", verb_resume},
        {"worker", verb_worker}, {"report", pr_cmd_report},
    };
    size_t i;

    if (argc < 2)
        return 0;
    for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (strcmp(argv[1], verbs[i].name) != 0)
            continue;
        if (verb_help(argv[1], argc - 1, argv + 1))
            *status = fflush(stdout) == 0 ? 0 : EXIT_OWN_ERROR;
        else
            *status = verbs[i].run(argc - 1, argv + 1);
        return 1;
    }
    return 0;
}
