/*
 * options: the command line, parsed from one table.  Each row of opts[] is
 * an option: its names, the kind of value it takes and the field of struct
 * pr_config it sets, its default and its --help text; the parser, the
 * defaults and --help all read the table, so an option is added in one row
 * (and in the man page).  Short options may be bundled (-ku) and take values
 * attached or separate (-j4, -j 4); long options take --name=value or
 * --name value.  Parsing stops at the first word that is not an option, or
 * after "--", so a command's own flags are never ours.
 */
#include "options.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "util.h"

#define MAX_JOBS 100000

/* Where --help's text column starts: a longer name pushes it two spaces
 * past the name, on the same line. */
#define HELP_COLUMN 24

/* What an option's value is, and how it sets its field. */
enum opt_kind {
    K_SET,        /* takes no value: the field becomes .val */
    K_NUMBER,     /* an integer from .min to .max */
    K_SECONDS,    /* seconds, 0 to PR_SECONDS_MAX */
    K_ABOVE_ZERO, /* a number above 0, written as seconds are */
    K_SIZE,       /* bytes, 1 to 1T, with K, M, G or T, fractions allowed
                     (1.5G); also 0 if .min is 0 */
    K_WORD,       /* one of .words */
    K_STRING,     /* any string; not empty if .what says what it must be */
    K_LINE,       /* a string without a newline */
    K_CUSTOM      /* .parse reads it and sets what it sets */
};

struct opt_word {
    const char *word;
    int val;
};

typedef int opt_parse_fn(struct pr_config *cfg, const char *name,
                         const char *v, char *err, size_t errlen);

struct opt {
    const char *heading;  /* not NULL: the row starts a group of --help,
                             with this title ("": none) */
    char shortname;       /* 0: none */
    char shortalias;      /* another short name for it (xargs's), or 0 */
    const char *longname; /* without "--"; NULL: a line of --help only */
    const char *alias;    /* another long name for it, or NULL */
    const char *arg;      /* the value's name in --help; NULL: takes none */
    enum opt_kind kind;
    size_t at;            /* the field's offset in struct pr_config */
    size_t size;          /* and size (kinds that set an integer) */
    long min, max;        /* K_NUMBER's range; K_SIZE's smallest */
    int val;              /* K_SET's value */
    const char *what;     /* in "'V' is not <what>", or "needs <what>" */
    const struct opt_word *words; /* K_WORD's, ending with a NULL word */
    opt_parse_fn *parse;  /* K_CUSTOM's */
    size_t given;         /* not 0: GIVEN(an int field), set to 1 when the
                             command line gives the option (not its dflt) */
    const char *dflt;     /* the value before the command line, or NULL */
    const char *help;     /* lines separated by \n, wrapped by hand */
};

/* The field f of struct pr_config, checked at compile time to be of a type
 * that the row's kind can set. */
#define CFG(f)    (((struct pr_config *)0)->f)
#define OFFSET(f) offsetof(struct pr_config, f)
#define INT_FIELD(f)                                                           \
    .at = _Generic(CFG(f), char: OFFSET(f), int: OFFSET(f),                   \
                   unsigned: OFFSET(f), unsigned long: OFFSET(f),             \
                   unsigned long long: OFFSET(f)),                            \
    .size = sizeof(CFG(f))
#define DOUBLE_FIELD(f)  .at = _Generic(CFG(f), double: OFFSET(f))
#define STRING_FIELD(f)  .at = _Generic(CFG(f), const char *: OFFSET(f))
#define FLAG(f)          .kind = K_SET, .val = 1, INT_FIELD(f)
#define GIVEN(f)         (1 + _Generic(CFG(f), int: OFFSET(f)))
#define WORDS(...)       (const struct opt_word[]){__VA_ARGS__, {NULL, 0}}

static opt_parse_fn parse_jobs, parse_delim, parse_retry_on, parse_retry_delay,
    parse_halt, parse_joblog, parse_timeout, parse_results, add_arg_file,
    add_job_file, parse_recend, refuse_option, parse_pipepart;

/* The options, in --help's order.  To add one: a row here (names, kind of
 * value and its field, default, help text), and its entry in the man page;
 * a value that no kind reads gets a K_CUSTOM parser below. */
static const struct opt opts[] = {
    {.heading = "Input:"},
    {.shortname = 'a', .longname = "arg-file", .arg = "FILE",
     .kind = K_CUSTOM, .parse = add_arg_file,
     .help = "read items from FILE (- is stdin); given again,\n"
             "one more input (one after another: cat F1 F2 |)"},
    {.arg = "::: ITEM...",
     .help = "items from the command line, after COMMAND"},
    {.arg = ":::: FILE...",
     .help = "items from FILEs, one input each, after COMMAND;\n"
             "several inputs (::: and :::: again, -a again):\n"
             "every combination, the last varying fastest"},
    {.arg = ":::+ ITEM...",
     .help = "(or ::::+ FILE...) paired with the input before"},
    {.longname = "link", FLAG(link),
     .help = "pair the inputs instead of combining them; the\n"
             "shorter ones start over"},
    {.longname = "colsep", .arg = "REGEX", .kind = K_STRING,
     STRING_FIELD(colsep), .what = "a regular expression",
     .help = "split each item into columns {1}, {2}... at\n"
             "REGEX (POSIX extended; \\t is a tab)"},
    {.longname = "header", .arg = ":", .kind = K_STRING,
     STRING_FIELD(header), .what = "':'",
     .help = "the first item of each input names its\n"
             "positions ({name}; with --colsep, its columns)"},
    {.shortname = '0', .longname = "null", .kind = K_SET, .val = '\0',
     INT_FIELD(delim), .help = "items end with NUL, not newline"},
    {.shortname = 'd', .longname = "delimiter", .arg = "C", .kind = K_CUSTOM,
     .parse = parse_delim, .dflt = "\\n",
     .help = "items end with C (\\n, \\t, \\0, \\\\ allowed)"},
    {.shortname = 'n', .longname = "max-args", .arg = "N", .kind = K_NUMBER,
     INT_FIELD(per_task), .min = 0, .max = 1000000,
     .given = GIVEN(per_task_set), .what = "a number of items",
     .help = "put up to N items in one task (0: one task\n"
             "per item, which fills nothing)"},
    {.shortname = 'r', .longname = "no-run-if-empty", FLAG(no_run_if_empty),
     .help = "with no items, run nothing (default: COMMAND\n"
             "once, from an empty stdin or -a)"},
    {.shortname = 'E', .longname = "sentinel", .arg = "STR", .kind = K_STRING,
     STRING_FIELD(sentinel), .help = "stop reading at the item STR"},
    {.shortname = 'I', .longname = "replace", .arg = "STR", .kind = K_STRING,
     STRING_FIELD(replace), .what = "a non-empty string",
     .help = "STR stands for the item instead of {}"},
    {.longname = "shell", FLAG(force_shell),
     .help = "run COMMAND through /bin/sh -c"},
    {.shortname = 'f', .longname = "file", .arg = "FILE", .kind = K_CUSTOM,
     .parse = add_job_file,
     .help = "run the tasks of JSON job file FILE (repeatable;\n"
             "\"after\": [ids] waits for those tasks)"},
    {.longname = "json", FLAG(json),
     .help = "read task objects, one per line, from stdin\n"
             "(\"after\" names only earlier lines)"},
    {.longname = "pipe", .alias = "spreadstdin", FLAG(pipe),
     .help = "cut stdin into blocks of whole records; each\n"
             "block goes to one run of COMMAND on its stdin\n"
             "(alias --spreadstdin)"},
    {.longname = "block", .alias = "block-size", .arg = "SIZE",
     .kind = K_SIZE, INT_FIELD(block), .min = 1, .dflt = "1M",
     .given = GIVEN(block_set),
     .help = "--pipe: bytes per block (default 1M; a longer\n"
             "record makes its block longer; alias --block-size)"},
    {.longname = "recend", .arg = "STR", .kind = K_CUSTOM,
     .parse = parse_recend, .given = GIVEN(block_set),
     .help = "--pipe: a record ends with STR (default \\n; -0:\n"
             "\\0; \\n, \\t, \\0, \\\\ allowed; up to 7 bytes)"},
    {.longname = "recstart", .arg = "STR", .kind = K_CUSTOM,
     .parse = refuse_option, .help = "not supported (refused)"},
    {.longname = "pipepart", .alias = "pipe-part", .kind = K_CUSTOM,
     .parse = parse_pipepart,
     .help = "--pipe with the blocks of -a FILE or :::: FILE\n"
             "(as --pipe < FILE; alias --pipe-part)"},

    {.heading = "Pool:"},
    {.shortname = 'j', .shortalias = 'P', .longname = "jobs", .arg = "N",
     .kind = K_CUSTOM, .parse = parse_jobs, .given = GIVEN(jobs_set),
     .dflt = "100%",
     .help = "run N tasks at a time (default: number of CPUs);\n"
             "N% of the CPUs; +N or -N: the CPUs plus or minus\n"
             "N (at least 1); 0 for no limit"},
    {.longname = "queue-size", .arg = "N", .kind = K_NUMBER,
     INT_FIELD(pool.queue_size), .min = 1, .max = 100000000,
     .what = "a queue size (1 or more)", .dflt = "1024",
     .given = GIVEN(queue_size_set),
     .help = "read at most N tasks ahead (default 1024;\n"
             "with --pipe, -j blocks)"},
    {.longname = "order", .arg = "ORDER", .kind = K_WORD,
     INT_FIELD(pool.order), .given = GIVEN(order_set),
     .words = WORDS({"fifo", PR_ORDER_FIFO}, {"lifo", PR_ORDER_LIFO},
                    {"priority", PR_ORDER_PRIORITY}),
     .what = "an order (fifo, lifo or priority)", .dflt = "fifo",
     .help = "fifo (default), lifo or priority; with -f, over the\n"
             "whole file"},
    {.longname = "timeout", .arg = "SECS", .kind = K_CUSTOM,
     .parse = parse_timeout,
     .help = "end a task after SECS (fractions allowed): SIGTERM\n"
             "to its process group, SIGKILL after --kill-after\n"
             "(every SECS here: 0 to " PR_SECONDS_MAX_TEXT "); 0: none;\n"
             "N%: N% of the median runtime of the tasks that\n"
             "succeeded so far (none until one has)"},
    {.longname = "kill-after", .arg = "SECS", .kind = K_SECONDS,
     DOUBLE_FIELD(pool.kill_after), .dflt = "2",
     .help = "grace between SIGTERM and SIGKILL (default 2)"},
    {.longname = "retries", .arg = "N", .kind = K_NUMBER,
     INT_FIELD(pool.retry.retries), .min = 0, .max = 1000000,
     .what = "a number of retries",
     .help = "run a failed or timed-out task up to N more times"},
    {.longname = "retry-on", .arg = "LIST", .kind = K_CUSTOM,
     .parse = parse_retry_on,
     .help = "retry only on these: exit codes, timeout, signal\n"
             "names (75,timeout,SIGKILL)"},
    {.longname = "retry-delay", .arg = "SECS[xFACTOR]", .kind = K_CUSTOM,
     .parse = parse_retry_delay, .dflt = "0",
     .help = "wait before a retry, FACTOR times\n"
             "longer each time (no slot is held meanwhile)"},
    {.longname = "halt", .arg = "WHEN,ON=N", .kind = K_CUSTOM,
     .parse = parse_halt, .dflt = "never",
     .help = "stop early: WHEN is now (kill running tasks) or\n"
             "soon (let them finish); ON is fail, success or\n"
             "done; N a count or a percentage (now,fail=1)"},
    {.longname = "delay", .arg = "SECS", .kind = K_SECONDS,
     DOUBLE_FIELD(pool.delay), .help = "wait SECS between task starts"},
    {.longname = "memfree", .arg = "SIZE", .kind = K_SIZE,
     INT_FIELD(pool.memfree), .min = 1,
     .help = "start a task only while SIZE of memory is\n"
             "available (MemAvailable; K, M, G, T, 1.5G)"},
    {.longname = "load", .arg = "N", .kind = K_ABOVE_ZERO,
     DOUBLE_FIELD(pool.load), .what = "a load average above 0",
     .help = "start a task only while the 1-minute load\n"
             "average is below N"},
    {.longname = "dry-run", .alias = "dryrun", FLAG(pool.dry_run),
     .help = "print each command instead of running it"},
    {.shortname = 't', .longname = "verbose", FLAG(verbose),
     .help = "print each command on stderr as it starts"},

    {.heading = "Daemon workers (a persistent process pool):"},
    {.longname = "workers", .arg = "CMD", .kind = K_STRING,
     STRING_FIELD(workers.cmd), .what = "a command",
     .help = "start -j copies of CMD (through /bin/sh -c) and\n"
             "send each task's input (its item, or a job\n"
             "file's \"input\") to a free one"},
    {.longname = "protocol", .arg = "P", .kind = K_WORD,
     INT_FIELD(workers.protocol),
     .words = WORDS({"line", PR_PROTO_LINE}, {"json", PR_PROTO_JSON}),
     .what = "line or json", .dflt = "line",
     .help = "line (default): one line in, one line out;\n"
             "json: {\"seq\":N,\"input\":...} in,\n"
             "{\"output\":...,\"exit\":N,\"error\":...} out"},
    {.longname = "inflight", .arg = "K", .kind = K_NUMBER,
     INT_FIELD(workers.inflight), .min = 1, .max = 4096,
     .given = GIVEN(workers.inflight_fixed),
     .what = "a number of tasks (1 to 4096)", .dflt = "256",
     .help = "send each worker K tasks ahead (default: from 1 up to\n"
             "256, more while it answers within 1 ms, fewer while\n"
             "it takes over 20 ms)"},
    {.longname = "worker-init", .arg = "LINE", .kind = K_LINE,
     STRING_FIELD(workers.init),
     .help = "the first line each new worker gets"},
    {.longname = "worker-sentinel", .arg = "LINE", .kind = K_LINE,
     STRING_FIELD(workers.sentinel),
     .help = "sent when all is done (default: close stdin)"},
    {.longname = "grace", .arg = "SECS", .kind = K_SECONDS,
     DOUBLE_FIELD(workers.grace), .dflt = "5",
     .help = "wait SECS for a worker to exit (default 5)"},
    {.longname = "max-tasks-per-worker", .arg = "N", .kind = K_NUMBER,
     INT_FIELD(workers.max_tasks), .min = 1, .max = 1000000000,
     .what = "a number of tasks (1 or more)",
     .help = "replace a worker after N tasks"},
    {.longname = "daemon", FLAG(workers.daemon),
     .help = "terminate the workers when all is done"},

    {.heading = "Output:"},
    {.shortname = 'k', .longname = "keep-order", FLAG(pool.output.keep_order),
     .help = "print each task's output in input order"},
    {.longname = "line-buffer", .alias = "lb", .kind = K_SET,
     .val = PR_OUT_LINE, INT_FIELD(pool.output.mode),
     .help = "print whole lines as they come (alias --lb; with\n"
             "-k, the oldest task's as they come, in order)"},
    {.shortname = 'u', .longname = "ungroup", .kind = K_SET,
     .val = PR_OUT_UNGROUP, INT_FIELD(pool.output.mode),
     .help = "print bytes as they come"},
    {.longname = "tag", FLAG(pool.tag),
     .help = "prefix each line with the task's items and a tab\n"
             "(a job file's task: its id)"},
    {.longname = "tagstring", .arg = "STR", .kind = K_STRING,
     STRING_FIELD(tagstring),
     .help = "--tag with STR, replacement strings filled, as\n"
             "the prefix"},
    {.longname = "buffer-size", .arg = "SIZE", .kind = K_SIZE,
     INT_FIELD(pool.output.buffer_size), .min = 1, .dflt = "1M",
     .help = "hold up to SIZE per stream in memory,\n"
             "then a private temporary file (default 1M)"},

    {.heading = "Callbacks (through /bin/sh -c, one at a time, in the order "
                "tasks end):"},
    {.longname = "on-done", .arg = "CMD", .kind = K_STRING,
     STRING_FIELD(pool.on_done), .what = "a command",
     .help = "after a task succeeds, with its stdout on stdin\n"
             "and POOLRUN_SEQ, _ID, _ITEM, _CMD, _STATUS, _EXIT,\n"
             "_SIGNAL, _RUNTIME, _ATTEMPTS in the environment"},
    {.longname = "on-fail", .arg = "CMD", .kind = K_STRING,
     STRING_FIELD(pool.on_fail), .what = "a command",
     .help = "the same, after a task's last failed attempt"},
    {.longname = "on-join", .arg = "CMD", .kind = K_STRING,
     STRING_FIELD(pool.on_join), .what = "a command",
     .help = "once every task and callback is done, with\n"
             "POOLRUN_TOTAL, _OK, _FAILED, _TIMEOUT, _KILLED,\n"
             "_ERROR and _SKIPPED"},

    {.heading = "Records:"},
    {.longname = "joblog", .arg = "FILE", .kind = K_CUSTOM,
     .parse = parse_joblog,
     .help = "write GNU parallel's job log to FILE; +FILE\n"
             "appends; - puts each row on stdout after its\n"
             "task's output"},
    {.longname = "results", .arg = "FILE", .kind = K_CUSTOM,
     .parse = parse_results,
     .help = "write one JSON object per attempt to FILE; DIR/\n"
             "(or a folder that exists): GNU parallel's\n"
             "DIR/1/ITEM/stdout, stderr and seq"},
    {.longname = "results-limit", .arg = "SIZE", .kind = K_SIZE,
     INT_FIELD(pool.results_limit), .min = 0, .dflt = "64K",
     .help = "keep up to SIZE of each stream of each\n"
             "attempt in its record (default 64K; 0: none)"},
    {.longname = "resume", FLAG(pool.resume),
     .help = "with --joblog: skip the tasks the job log lists\n"
             "and add to it (and to --results); rows it\n"
             "cannot read (one cut short) are named and skipped"},
    {.longname = "resume-failed", FLAG(resume_failed),
     .help = "the same, but run the failed ones again"},
    {.longname = "summary", FLAG(summary),
     .help = "count the tasks by status on stderr at the end,\n"
             "and name the slowest (always when a task did\n"
             "not succeed)"},
    {.longname = "progress", .kind = K_SET, .val = PR_PROGRESS_LINE,
     INT_FIELD(pool.progress),
     .help = "show progress on stderr: a line redrawn in place\n"
             "on a terminal, else a line per finished task"},
    {.longname = "bar", .kind = K_SET, .val = PR_PROGRESS_BAR,
     INT_FIELD(pool.progress),
     .help = "the same with a bar on a terminal: percent, bar,\n"
             "done/total, rate, ETA (elsewhere as --progress)"},
    {.longname = "eta", FLAG(pool.eta),
     .help = "--progress with the time left always shown\n"
             "(\"ETA ?\" until the input has ended)"},
    {.longname = "exit-status", .arg = "POLICY", .kind = K_WORD,
     INT_FIELD(exit_policy),
     .words = WORDS({"count", PR_EXIT_COUNT}, {"first", PR_EXIT_FIRST},
                    {"last", PR_EXIT_LAST}, {"max", PR_EXIT_MAX}),
     .what = "count, first, last or max", .dflt = "count",
     .help = "count (default): how many tasks failed;\n"
             "first, last or max: that failed task's code"},

    {.heading = ""},
    {.shortname = 'h', .longname = "help", FLAG(show_help),
     .help = "show this help"},
    {.shortname = 'V', .longname = "version", FLAG(show_version),
     .help = "show the version"},
};

static const char usage_head[] =
    "Usage: poolrun [OPTIONS] < LINES          each line is a shell command\n"
    "       poolrun [OPTIONS] COMMAND [ARG...]  each item fills COMMAND\n"
    "       poolrun [OPTIONS] COMMAND ::: A B ::: 1 2  every combination\n"
    "       poolrun [OPTIONS] --pipe COMMAND < DATA  blocks of DATA on its stdin\n"
    "       poolrun serve|submit|status|join|wait|log|cancel|resume|close|\n"
    "               shutdown|worker\n"
    "       poolrun report RUN [-o FILE.html|FILE.svg]  draw a finished run\n"
    "Run tasks in parallel on a pool of processes.\n"
    "\n"
    "Map (COMMAND): {} item, {.} without extension, {/} basename, {//}\n"
    "dirname, {/.} basename without extension, {#} task number, {%} slot;\n"
    "{1}, {2}, {-1}... one input's value (or column), with the same path\n"
    "forms ({1.}, {1/}, {1//}, {1/.}); with none of them (not even {#}),\n"
    "the items are appended.  Several words run directly; one word with\n"
    "shell syntax, or --shell, runs through /bin/sh -c with each value\n"
    "quoted for its place ('...', \"...\", here-document); a place where\n"
    "no quoting is safe (`...`, ${...}) is refused.\n"
    "\n";

static const char usage_tail[] =
    "\n"
    "Queue service (one per user; `poolrun VERB --help` says its options):\n"
    "  poolrun serve [OPTIONS]         run it here; OPTIONS: queue defaults\n"
    "  poolrun submit COMMAND | < LINES   put tasks on a queue (and start\n"
    "                                  the service if none runs)\n"
    "  poolrun status [Q]              queues, counts, running tasks\n"
    "  poolrun join [Q]                until Q has no unfinished task\n"
    "  poolrun wait ID...              until those tasks have ended\n"
    "  poolrun log ID                  an ended task's stdout and stderr\n"
    "  poolrun cancel ID...            take tasks off their queue, or stop\n"
    "  poolrun resume [ID...]          run tasks a paused restart holds\n"
    "                                  (all, with no argument)\n"
    "  poolrun close Q                 Q takes no more tasks\n"
    "  poolrun shutdown                stop every queue and end\n"
    "  poolrun worker [OPTIONS]        run the tasks of a queue in Redis\n"
    "                                  here; the verbs above take its URL,\n"
    "                                  redis://HOST[:PORT][/DB]/NAME\n"
    "  `poolrun -- submit ...` runs a program named submit instead.\n"
    "\n"
    "See a run: poolrun report RUN [-o F.html|F.svg] draws the results\n"
    "file (--results FILE) or job log (--joblog FILE, less detail) of a\n"
    "finished run as one self-contained page or picture: a row per slot, a\n"
    "bar per attempt coloured by status, tasks finished over time, the\n"
    "slowest and the failed tasks.\n"
    "\n"
    "Exit status: 0 all tasks succeeded; 1-100 that many failed; 101 more\n"
    "than 100 failed; 128+N stopped by signal N (141: stdout closed);\n"
    "255 poolrun's own error; after --halt, the halting task's code.\n"
    "A task's code: its exit status, 128+N if signal N ended it, 124 after\n"
    "its timeout, 126 if it could not start.  See poolrun(1).\n";

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Every time option has the one range of pr_seconds_valid. */
static int
bad_seconds(const char *name, const char *v, char *err, size_t errlen)
{
    return fail(err, errlen,
                "%s: '%s' is not a number of seconds (0 to " PR_SECONDS_MAX_TEXT
                ")", name, v);
}

/* -d: one byte, or one of the escapes \n, \t, \0 and \\. */
static int
parse_delim(struct pr_config *cfg, const char *name, const char *v, char *err,
            size_t errlen)
{
    if (v[0] != '\0' && v[1] == '\0') {
        cfg->delim = v[0];
        return 0;
    }
    if (v[0] == '\\' && v[1] != '\0' && v[2] == '\0') {
        switch (v[1]) {
        case 'n':
            cfg->delim = '\n';
            return 0;
        case 't':
            cfg->delim = '\t';
            return 0;
        case '0':
            cfg->delim = '\0';
            return 0;
        case '\\':
            cfg->delim = '\\';
            return 0;
        default:
            break;
        }
    }
    return fail(err, errlen,
                "%s: '%s' is not one character (or \\n, \\t, \\0, \\\\)",
                name, v);
}

/* -j +N and -j -N (GNU parallel's): the CPUs plus or minus N, at least
 * 1.  Without this, strtol would read +2 as 2. */
static int
parse_jobs_relative(struct pr_config *cfg, const char *name, const char *v,
                    char *err, size_t errlen)
{
    long cpus = (long)uv_available_parallelism();
    long n;

    if (pr_parse_long(v + 1, 0, MAX_JOBS, &n) != 0 || v[1] == '+' ||
        v[1] == '-')
        return fail(err, errlen,
                    "%s: '%s' is not a number of jobs (+N or -N: the CPUs "
                    "plus or minus N)", name, v);
    n = v[0] == '+' ? cpus + n : cpus - n;
    cfg->pool.jobs = n < 1 ? 1 : n > MAX_JOBS ? MAX_JOBS : (unsigned)n;
    return 0;
}

/* One byte of --recend from *v, with \n, \t, \0 and \\ undone as -d
 * does them (GNU parallel reads them so too); moves *v past it. */
static char
recend_byte(const char **v)
{
    const char *p = *v;

    *v = p + 1;
    if (p[0] != '\\')
        return p[0];
    *v = p + 2;
    switch (p[1]) {
    case 'n':
        return '\n';
    case 't':
        return '\t';
    case '0':
        return '\0';
    case '\\':
        return '\\';
    default:
        *v = p + 1; /* any other backslash is itself */
        return '\\';
    }
}

/* --recend STR: a record ends with these bytes. */
static int
parse_recend(struct pr_config *cfg, const char *name, const char *v, char *err,
             size_t errlen)
{
    const char *all = v;
    size_t n = 0;

    while (*v != '\0') {
        if (n == sizeof(cfg->recend) - 1)
            return fail(err, errlen, "%s: '%s' is longer than %zu bytes", name,
                        all, sizeof(cfg->recend) - 1);
        cfg->recend[n++] = recend_byte(&v);
    }
    if (n == 0)
        return fail(err, errlen, "%s: needs a string", name);
    cfg->recend_len = n;
    return 0;
}

/* GNU parallel's options that poolrun knows but does not do: refused by
 * name, never taken for a COMMAND or read as something else. */
static int
refuse_option(struct pr_config *cfg, const char *name, const char *v, char *err,
              size_t errlen)
{
    (void)cfg;
    (void)v;
    return fail(err, errlen, "%s: not supported (--recend only)", name);
}

/* --pipepart: GNU parallel's --pipe from a file named with -a. */
static int
parse_pipepart(struct pr_config *cfg, const char *name, const char *v,
               char *err, size_t errlen)
{
    (void)name;
    (void)v;
    (void)err;
    (void)errlen;
    cfg->pipe = 1;
    cfg->pipepart = 1;
    return 0;
}

/* -j N, -j N% (of the CPUs, at least 1), -j +N or -N, -j 0 (no limit). */
static int
parse_jobs(struct pr_config *cfg, const char *name, const char *v, char *err,
           size_t errlen)
{
    size_t len = strlen(v);
    long n;

    /* strtol skips blanks: ' +3' would be 3 jobs, not the CPUs plus 3. */
    if (v[0] != '\0' && strchr(" \t\n\v\f\r", v[0]) != NULL)
        return fail(err, errlen, "%s: '%s' is not a number of jobs", name, v);
    if (v[0] == '+' || v[0] == '-')
        return parse_jobs_relative(cfg, name, v, err, errlen);
    if (len > 1 && v[len - 1] == '%') {
        char num[32];

        if (len - 1 >= sizeof(num))
            return fail(err, errlen, "%s: '%s' is not a number of jobs", name,
                        v);
        memcpy(num, v, len - 1);
        num[len - 1] = '\0';
        if (pr_parse_long(num, 1, 100000, &n) != 0)
            return fail(err, errlen,
                        "%s: '%s' is not a percentage of CPUs (1%% or more)",
                        name, v);
        n = (long)uv_available_parallelism() * n / 100;
        cfg->pool.jobs = n < 1 ? 1 : (unsigned)n;
        return 0;
    }
    if (pr_parse_long(v, 0, MAX_JOBS, &n) != 0)
        return fail(err, errlen,
                    "%s: '%s' is not a number of jobs (0 to %d, or N%%)", name,
                    v, MAX_JOBS);
    cfg->pool.jobs = (unsigned)n;
    return 0;
}

/* A size in bytes: pr_parse_size's, fractions and K, M, G, T allowed. */
static int
parse_size(const char *name, const char *v, size_t *out, char *err,
           size_t errlen)
{
    uint64_t n;

    if (pr_parse_size(v, &n) != 0)
        return fail(err, errlen,
                    "%s: '%s' is not a size (1 to 1T; K, M, G, T and "
                    "fractions allowed: 1.5G)", name, v);
    *out = (size_t)n;
    return 0;
}

/* --timeout SECS (0: none, as a job file's "timeout": 0), or GNU
 * parallel's N%: of the median runtime of the tasks that succeeded. */
static int
parse_timeout(struct pr_config *cfg, const char *name, const char *v, char *err,
              size_t errlen)
{
    size_t len = strlen(v);
    char num[64];
    double d;

    cfg->pool.timeout = 0;
    cfg->pool.timeout_pct = 0;
    if (len > 1 && len < sizeof(num) && v[len - 1] == '%') {
        memcpy(num, v, len - 1);
        num[len - 1] = '\0';
        if (pr_parse_seconds(num, &d) != 0 || d <= 0)
            return fail(err, errlen,
                        "%s: '%s' is not a percentage above 0 (of the median "
                        "runtime)", name, v);
        cfg->pool.timeout_pct = d / 100;
        return 0;
    }
    if (pr_parse_seconds(v, &d) != 0)
        return bad_seconds(name, v, err, errlen);
    cfg->pool.timeout = d;
    return 0;
}

/* --retry-on 1,75,timeout,SIGKILL: exit codes, `timeout`, signals. */
static int
parse_retry_on(struct pr_config *cfg, const char *name, const char *v,
               char *err, size_t errlen)
{
    struct pr_retry_policy *r = &cfg->pool.retry;
    struct pr_retry_on on;
    const char *bad;
    size_t badlen;

    if (pr_retry_on_parse(&on, v, &bad, &badlen) != 0) {
        if (badlen == 0)
            return fail(err, errlen,
                        "%s: '%s': give exit codes, timeout or signal names, "
                        "separated by commas", name, v);
        return fail(err, errlen,
                    "%s: '%.*s' is not an exit code (0-255), timeout or a "
                    "signal name", name, (int)badlen, bad);
    }
    r->only_listed = 1;
    memcpy(r->codes, on.codes, sizeof(r->codes));
    memcpy(r->sigs, on.sigs, sizeof(r->sigs));
    r->on_timeout = on.on_timeout;
    return 0;
}

/* --retry-delay SECS or SECSxFACTOR (2x2: 2 s, then 4, 8...). */
static int
parse_retry_delay(struct pr_config *cfg, const char *name, const char *v,
                  char *err, size_t errlen)
{
    struct pr_retry_policy *r = &cfg->pool.retry;
    char num[64];
    const char *x = strchr(v, 'x');
    size_t n = x != NULL ? (size_t)(x - v) : strlen(v);

    if (n >= sizeof(num))
        n = sizeof(num) - 1;
    memcpy(num, v, n);
    num[n] = '\0';
    r->factor = 1;
    if (pr_parse_seconds(num, &r->delay) != 0 ||
        (x != NULL && (pr_parse_seconds(x + 1, &r->factor) != 0 ||
                       r->factor < 1 || r->factor > 1000)))
        return fail(err, errlen,
                    "%s: '%s' is not SECS or SECSxFACTOR (SECS 0 to "
                    PR_SECONDS_MAX_TEXT ", FACTOR 1 to 1000)", name, v);
    return 0;
}

/* --halt now|soon,fail|success|done=N|N%, never, or GNU's 0, 1, 2. */
static int
parse_halt(struct pr_config *cfg, const char *name, const char *v, char *err,
           size_t errlen)
{
    struct pr_halt *h = &cfg->pool.halt;
    const char *comma = strchr(v, ',');
    const char *eq;
    const char *num;
    char buf[32];
    size_t len;
    double pct;
    long n;

    memset(h, 0, sizeof(*h));
    if (strcmp(v, "never") == 0 || strcmp(v, "0") == 0)
        return 0;
    if (strcmp(v, "1") == 0 || strcmp(v, "2") == 0) {
        h->when = v[0] == '1' ? PR_HALT_SOON : PR_HALT_NOW;
        h->on = PR_HALT_FAIL;
        h->count = 1;
        return 0;
    }
    if (comma == NULL)
        goto bad;
    if ((size_t)(comma - v) == 3 && strncmp(v, "now", 3) == 0)
        h->when = PR_HALT_NOW;
    else if ((size_t)(comma - v) == 4 && strncmp(v, "soon", 4) == 0)
        h->when = PR_HALT_SOON;
    else
        goto bad;
    eq = strchr(comma, '=');
    if (eq == NULL)
        goto bad;
    len = (size_t)(eq - comma - 1);
    if (len == 4 && strncmp(comma + 1, "fail", 4) == 0)
        h->on = PR_HALT_FAIL;
    else if (len == 7 && strncmp(comma + 1, "success", 7) == 0)
        h->on = PR_HALT_SUCCESS;
    else if (len == 4 && strncmp(comma + 1, "done", 4) == 0)
        h->on = PR_HALT_DONE;
    else
        goto bad;
    num = eq + 1;
    len = strlen(num);
    if (len > 1 && len < sizeof(buf) && num[len - 1] == '%') {
        memcpy(buf, num, len - 1);
        buf[len - 1] = '\0';
        if (pr_parse_seconds(buf, &pct) != 0 || pct <= 0 || pct > 100)
            goto bad;
        h->pct = pct;
        return 0;
    }
    if (pr_parse_long(num, 1, 1000000000, &n) != 0)
        goto bad;
    h->count = (uint64_t)n;
    return 0;
bad:
    h->when = PR_HALT_NEVER;
    return fail(err, errlen,
                "%s: '%s' is not now|soon,fail|success|done=N or N%%, or never",
                name, v);
}

/* --joblog FILE; GNU parallel's +FILE (append) and - (stdout).  A file
 * whose name starts with + is ./+FILE. */
static int
parse_joblog(struct pr_config *cfg, const char *name, const char *v, char *err,
             size_t errlen)
{
    struct pr_pool_config *p = &cfg->pool;

    p->joblog_append = v[0] == '+';
    p->joblog_stdout = strcmp(v, "-") == 0;
    p->joblog = p->joblog_append ? v + 1 : v;
    if (p->joblog[0] == '\0')
        return fail(err, errlen, "%s: needs a file name (+FILE appends, - is "
                    "stdout)", name);
    return 0;
}

/* --results FILE (JSON Lines), or GNU parallel's folder: a name that ends
 * in / or names a folder that exists. */
static int
parse_results(struct pr_config *cfg, const char *name, const char *v, char *err,
              size_t errlen)
{
    size_t len = strlen(v);
    struct stat st;

    if (len == 0)
        return fail(err, errlen, "%s: needs a file or folder name", name);
    cfg->pool.results = v;
    cfg->pool.results_dir =
        v[len - 1] == '/' || (stat(v, &st) == 0 && S_ISDIR(st.st_mode));
    return 0;
}

/* -a FILE and -f FILE add to a list, in order. */
static int
append(const char ***list, int *n, const char *name, const char *v, char *err,
       size_t errlen)
{
    if (*v == '\0')
        return fail(err, errlen, "%s: needs a file name", name);
    *list = pr_xrealloc(*list, (size_t)(*n + 1) * sizeof(**list));
    (*list)[(*n)++] = v;
    return 0;
}

static int
add_arg_file(struct pr_config *cfg, const char *name, const char *v,
             char *err, size_t errlen)
{
    return append(&cfg->arg_files, &cfg->narg_files, name, v, err, errlen);
}

static int
add_job_file(struct pr_config *cfg, const char *name, const char *v,
             char *err, size_t errlen)
{
    return append(&cfg->job_files, &cfg->njob_files, name, v, err, errlen);
}

/* Sets an integer field of any width that INT_FIELD accepts; memcpy, since
 * the field's type is known only by its size. */
static void
set_integer(void *field, size_t size, uint64_t v)
{
    unsigned char u8 = (unsigned char)v;
    uint32_t u32 = (uint32_t)v;

    if (size == sizeof(u8))
        memcpy(field, &u8, size);
    else if (size == sizeof(u32))
        memcpy(field, &u32, size);
    else if (size == sizeof(v))
        memcpy(field, &v, size);
    else
        abort(); /* INT_FIELD let through a width set_integer cannot set */
}

static int
set_word(const struct opt *o, void *field, const char *name, const char *v,
         char *err, size_t errlen)
{
    const struct opt_word *w;

    for (w = o->words; w->word != NULL; w++) {
        if (strcmp(v, w->word) == 0) {
            set_integer(field, o->size, (uint64_t)w->val);
            return 0;
        }
    }
    return fail(err, errlen, "%s: '%s' is not %s", name, v, o->what);
}

/* Sets the option of row o from its value v (NULL if it takes none);
 * name is the option as written, for messages. */
static int
apply(struct pr_config *cfg, const struct opt *o, const char *name,
      const char *v, char *err, size_t errlen)
{
    char *field = (char *)cfg + o->at;
    size_t size = 0;
    double d;
    long n;

    if (o->arg != NULL && v == NULL)
        return fail(err, errlen, "%s: needs a value", name);
    switch (o->kind) {
    case K_SET:
        set_integer(field, o->size, (uint64_t)o->val);
        return 0;
    case K_NUMBER:
        if (pr_parse_long(v, o->min, o->max, &n) != 0)
            return fail(err, errlen, "%s: '%s' is not %s", name, v, o->what);
        set_integer(field, o->size, (uint64_t)n);
        return 0;
    case K_SECONDS:
        if (pr_parse_seconds(v, &d) != 0)
            return bad_seconds(name, v, err, errlen);
        memcpy(field, &d, sizeof(d));
        return 0;
    case K_ABOVE_ZERO:
        if (pr_parse_seconds(v, &d) != 0 || d <= 0)
            return fail(err, errlen, "%s: '%s' is not %s", name, v, o->what);
        memcpy(field, &d, sizeof(d));
        return 0;
    case K_SIZE:
        if (o->min == 0 && strcmp(v, "0") == 0)
            size = 0;
        else if (parse_size(name, v, &size, err, errlen) != 0)
            return -1;
        set_integer(field, o->size, size);
        return 0;
    case K_WORD:
        return set_word(o, field, name, v, err, errlen);
    case K_LINE:
        if (strchr(v, '\n') != NULL)
            return fail(err, errlen, "%s: must be one line", name);
        memcpy(field, &v, sizeof(v));
        return 0;
    case K_STRING:
        if (*v == '\0' && o->what != NULL)
            return fail(err, errlen, "%s: needs %s", name, o->what);
        memcpy(field, &v, sizeof(v));
        return 0;
    case K_CUSTOM:
        return o->parse(cfg, name, v, err, errlen);
    }
    return 0;
}

/* apply(), for an option the command line gives. */
static int
take(struct pr_config *cfg, const struct opt *o, const char *name,
     const char *v, char *err, size_t errlen)
{
    if (apply(cfg, o, name, v, err, errlen) != 0)
        return -1;
    if (o->given != 0)
        set_integer((char *)cfg + o->given - 1, sizeof(int), 1);
    return 0;
}

static const struct opt *
find_long(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < PR_ARRAY_SIZE(opts); i++) {
        const char *l = opts[i].longname;
        const char *a = opts[i].alias;

        if (l != NULL && strlen(l) == len && strncmp(l, name, len) == 0)
            return &opts[i];
        if (a != NULL && strlen(a) == len && strncmp(a, name, len) == 0)
            return &opts[i];
    }
    return NULL;
}

static const struct opt *
find_short(char c)
{
    size_t i;

    for (i = 0; i < PR_ARRAY_SIZE(opts); i++)
        if (opts[i].shortname != 0 &&
            (opts[i].shortname == c || opts[i].shortalias == c))
            return &opts[i];
    return NULL;
}

static int
parse_long_opt(int argc, char **argv, int *i, struct pr_config *cfg, char *err,
               size_t errlen)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct opt *o = find_long(arg, len);
    char name[64];
    const char *v = NULL;

    snprintf(name, sizeof(name), "--%.*s", (int)len, arg);
    if (o == NULL)
        return fail(err, errlen, "%s: unknown option", name);
    if (o->arg != NULL) {
        if (eq != NULL)
            v = eq + 1;
        else if (*i + 1 < argc)
            v = argv[++*i];
        else
            return fail(err, errlen, "%s: needs a value", name);
    } else if (eq != NULL) {
        return fail(err, errlen, "%s: takes no value", name);
    }
    return take(cfg, o, name, v, err, errlen);
}

static int
parse_short_opts(int argc, char **argv, int *i, struct pr_config *cfg,
                 char *err, size_t errlen)
{
    const char *p = argv[*i] + 1;

    for (; *p != '\0'; p++) {
        const struct opt *o = find_short(*p);
        char name[3] = {'-', *p, '\0'};

        if (o == NULL)
            return fail(err, errlen, "%s: unknown option", name);
        if (o->arg == NULL) {
            if (take(cfg, o, name, NULL, err, errlen) != 0)
                return -1;
            continue;
        }
        if (p[1] != '\0')
            return take(cfg, o, name, p + 1, err, errlen);
        if (*i + 1 >= argc)
            return fail(err, errlen, "%s: needs a value", name);
        return take(cfg, o, name, argv[++*i], err, errlen);
    }
    return 0;
}

/* Every field's value before the command line: the rows' defaults, and
 * what no option sets. */
static int
set_defaults(struct pr_config *cfg, char *err, size_t errlen)
{
    size_t i;

    memset(cfg, 0, sizeof(*cfg));
    cfg->pool.shell = "/bin/sh";
    cfg->pool.output.mode = PR_OUT_GROUP;
    cfg->pool.output.out_fd = 1;
    cfg->pool.output.err_fd = 2;
    cfg->pool.output.first_seq = 1;
    for (i = 0; i < PR_ARRAY_SIZE(opts); i++) {
        char name[64];

        if (opts[i].dflt == NULL)
            continue;
        snprintf(name, sizeof(name), "--%s", opts[i].longname);
        if (apply(cfg, &opts[i], name, opts[i].dflt, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* Which input separator word a is: 0 :::, 1 :::+, 2 ::::, 3 ::::+, or -1
 * for none. */
static int
separator(const char *a)
{
    static const char *const seps[] = {":::", ":::+", "::::", "::::+"};
    size_t i;

    for (i = 0; i < PR_ARRAY_SIZE(seps); i++)
        if (strcmp(a, seps[i]) == 0)
            return (int)i;
    return -1;
}

static struct pr_input *
add_input(struct pr_config *cfg, const char *file, const char *how, int linked)
{
    struct pr_input *in;

    cfg->inputs = pr_xrealloc(cfg->inputs, (size_t)(cfg->ninputs + 1) *
                                               sizeof(*cfg->inputs));
    in = &cfg->inputs[cfg->ninputs++];
    memset(in, 0, sizeof(*in));
    in->file = file;
    in->how = how;
    in->linked = linked;
    return in;
}

/* The inputs: -a FILE first, then after COMMAND (from argv[i] on) each
 * ::: ITEM... and each FILE of :::: FILE... (GNU parallel's order). */
static int
parse_inputs(struct pr_config *cfg, int argc, char **argv, int i, char *err,
             size_t errlen)
{
    int k;

    for (k = 0; k < cfg->narg_files; k++)
        add_input(cfg, cfg->arg_files[k], "-a", 0);
    while (i < argc) {
        int sep = separator(argv[i]);
        int from = ++i;
        struct pr_input *in;

        while (i < argc && separator(argv[i]) < 0)
            i++;
        if (sep >= 2 && i == from)
            return fail(err, errlen, "%s needs a file name", argv[from - 1]);
        if (sep < 2) {
            in = add_input(cfg, NULL, ":::", sep == 1);
            in->items = argv + from;
            in->nitems = i - from;
            continue;
        }
        for (k = from; k < i; k++) {
            if (argv[k][0] == '\0')
                return fail(err, errlen, "%s needs a file name",
                            argv[from - 1]);
            add_input(cfg, argv[k], "::::", sep == 3);
        }
    }
    /* One ::: alone keeps its own source; so does one file, as -a. */
    if (cfg->ninputs == 1 && cfg->inputs[0].file == NULL) {
        cfg->args = cfg->inputs[0].items;
        cfg->nargs = cfg->inputs[0].nitems;
        cfg->have_args = 1;
    }
    return 0;
}

/* Options that shape the inputs, together. */
static int
check_inputs(struct pr_config *cfg, char *err, size_t errlen)
{
    int several =
        cfg->ninputs > 1 || cfg->colsep != NULL || cfg->header != NULL;

    if (cfg->header != NULL && strcmp(cfg->header, ":") != 0)
        return fail(err, errlen, "--header: '%s': only ':' (names from the "
                    "first line) is supported", cfg->header);
    if (cfg->per_task_set && cfg->per_task == 0) {
        cfg->no_args = 1;
        cfg->per_task = 1;
    }
    if (several && cfg->per_task > 1)
        return fail(err, errlen, "-n %u cannot be combined with several "
                    "inputs, --colsep or --header", cfg->per_task);
    if (cfg->no_args && cfg->ncommand == 0)
        return fail(err, errlen, "-n 0: runs COMMAND with no argument, and "
                    "there is no COMMAND");
    if (several && cfg->ncommand == 0 && !cfg->json &&
        cfg->pool.workers == NULL && cfg->njob_files == 0)
        return fail(err, errlen, "several inputs, --colsep and --header "
                    "fill a COMMAND, and there is none");
    if (several && (cfg->json || cfg->pool.workers != NULL ||
                    cfg->njob_files > 0))
        return fail(err, errlen, "several inputs, --colsep and --header "
                    "fill a COMMAND: not with %s",
                    cfg->json                   ? "--json"
                    : cfg->pool.workers != NULL ? "--workers"
                                                : "-f");
    if (cfg->tagstring != NULL)
        cfg->pool.tag = 1;
    /* xargs runs COMMAND once with no item when stdin or -a is empty;
     * GNU parallel's forms run nothing (`rm -rf {}/build :::` must not
     * run `rm -rf /build`), but `::: ''` once, as parallel does. */
    if (several ||
        (cfg->ninputs == 1 && cfg->inputs[0].file == NULL &&
         cfg->inputs[0].nitems == 0) ||
        (cfg->ninputs == 1 && cfg->inputs[0].file != NULL &&
         strcmp(cfg->inputs[0].how, "::::") == 0))
        cfg->parallel_empty = 1;
    return 0;
}

/* The options together, once all are read; args is the first word after
 * them (COMMAND, :::), or NULL. */
static int
check_combined(struct pr_config *cfg, const char *args, char *err,
               size_t errlen)
{
    struct pr_pool_config *p = &cfg->pool;

    if (cfg->workers.cmd != NULL)
        p->workers = &cfg->workers;
    if (cfg->resume_failed)
        p->resume = 1;
    /* --line-buffer -k: the oldest task's lines go out as they come, the
     * others' wait their turn: that is -k's grouped output, streamed. */
    if (p->output.mode == PR_OUT_LINE && p->output.keep_order)
        p->output.mode = PR_OUT_GROUP;
    if (p->workers == NULL &&
        (cfg->workers.init != NULL || cfg->workers.sentinel != NULL ||
         cfg->workers.max_tasks != 0 || cfg->workers.daemon))
        return fail(err, errlen, "--worker-init, --worker-sentinel, "
                    "--max-tasks-per-worker and --daemon need --workers CMD");
    if (p->workers != NULL && args != NULL && separator(args) < 0)
        return fail(err, errlen, "%s: with --workers, input items go to the "
                    "workers; no COMMAND", args);
    if (p->resume && p->joblog_stdout)
        return fail(err, errlen, "%s: --joblog - cannot be read back; name "
                    "a file", cfg->resume_failed ? "--resume-failed"
                                                 : "--resume");
    if (p->resume && p->joblog == NULL)
        return fail(err, errlen, "%s needs --joblog FILE: the job log says "
                    "which tasks ran", cfg->resume_failed ? "--resume-failed"
                                                          : "--resume");
    if (p->results_dir && (cfg->njob_files > 0 || cfg->json))
        return fail(err, errlen, "--results %s: a folder is named by the "
                    "tasks' items, which job files do not have; name a file "
                    "(JSON Lines)", p->results);
    if ((cfg->njob_files > 0 || cfg->json) && args != NULL)
        return fail(err, errlen, "%s: a job file gives the commands; no "
                    "COMMAND or ::: with -f or --json", args);
    if (cfg->njob_files > 0 && (cfg->json || cfg->narg_files > 0))
        return fail(err, errlen, "-f cannot be combined with %s",
                    cfg->json ? "--json" : "-a");
    return 0;
}

/* --pipe: what it cannot be combined with, and its defaults. */
static int
check_pipe(struct pr_config *cfg, char *err, size_t errlen)
{
    if (!cfg->pipe)
        return cfg->block_set
                   ? fail(err, errlen, "--block and --recend need --pipe")
                   : 0;
    if (cfg->pipepart && (cfg->ninputs != 1 || cfg->inputs[0].file == NULL))
        return fail(err, errlen, "--pipepart needs one file to cut: "
                    "-a FILE or :::: FILE");
    if ((cfg->ninputs > 0 && !cfg->pipepart) || cfg->colsep != NULL ||
        cfg->header != NULL)
        return fail(err, errlen, "--pipe feeds stdin in blocks: no :::, "
                    "::::, -a, --colsep or --header (use < FILE)");
    if (cfg->njob_files > 0 || cfg->json || cfg->pool.workers != NULL)
        return fail(err, errlen, "--pipe cannot be combined with %s",
                    cfg->pool.workers != NULL ? "--workers"
                    : cfg->json               ? "--json"
                                              : "-f");
    if (cfg->ncommand == 0)
        return fail(err, errlen, "--pipe needs a COMMAND for the blocks");
    if (cfg->per_task_set || cfg->sentinel != NULL || cfg->replace != NULL)
        return fail(err, errlen, "%s: not supported with --pipe",
                    cfg->per_task_set ? "-n"
                    : cfg->sentinel    ? "-E"
                                       : "-I");
    if (cfg->delim != '\n' && cfg->delim != '\0')
        return fail(err, errlen, "-d: with --pipe, use --recend STR");
    if (cfg->recend_len == 0) {
        cfg->recend[0] = cfg->delim; /* -0: NUL, else newline */
        cfg->recend_len = 1;
    }
    /* Each queued task holds a block: the default queue of 1024 would be
     * a gigabyte of them. */
    if (!cfg->queue_size_set)
        cfg->pool.queue_size = cfg->pool.jobs > 0 ? cfg->pool.jobs : 1;
    return 0;
}

int
pr_options_parse(int argc, char **argv, struct pr_config *cfg, char *err,
                 size_t errlen)
{
    int line_buffer = 0;
    int i;

    if (set_defaults(cfg, err, errlen) != 0)
        return -1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc;

        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0')
            break;
        if (a[1] == '-')
            rc = parse_long_opt(argc, argv, &i, cfg, err, errlen);
        else
            rc = parse_short_opts(argc, argv, &i, cfg, err, errlen);
        if (rc != 0)
            return -1;
        if (cfg->pool.output.mode == PR_OUT_LINE)
            line_buffer = 1;
        if (line_buffer && cfg->pool.output.mode == PR_OUT_UNGROUP)
            return fail(err, errlen,
                        "--line-buffer and --ungroup cannot be combined");
    }
    cfg->command = argv + i;
    cfg->ncommand = argc - i;
    if (check_combined(cfg, i < argc ? argv[i] : NULL, err, errlen) != 0)
        return -1;
    /* COMMAND ::: ITEM... :::: FILE... (GNU parallel's): the inputs. */
    for (; i < argc && separator(argv[i]) < 0; i++)
        ;
    cfg->ncommand = i - (int)(cfg->command - argv);
    if (parse_inputs(cfg, argc, argv, i, err, errlen) != 0)
        return -1;
    if (check_inputs(cfg, err, errlen) != 0)
        return -1;
    return check_pipe(cfg, err, errlen);
}

void
pr_options_free(struct pr_config *cfg)
{
    free(cfg->arg_files);
    free(cfg->job_files);
    free(cfg->inputs);
    cfg->inputs = NULL;
    cfg->arg_files = NULL;
    cfg->job_files = NULL;
}

/* Appends a and b to the string in buf, as far as they fit. */
static void
cat(char *buf, size_t size, const char *a, const char *b)
{
    size_t len = strlen(buf);

    snprintf(buf + len, size - len, "%s%s", a, b);
}

/* One option's lines of --help: its names and value on the left, its text
 * from HELP_COLUMN on.  An alias its text names is not named again. */
static void
print_option(FILE *out, const struct opt *o)
{
    char left[96] = "      ";
    char alias[40];
    const char *line = o->help;
    size_t n;

    if (o->shortname != 0 && o->shortalias != 0)
        snprintf(left, sizeof(left), "  -%c, -%c, ", o->shortname,
                 o->shortalias);
    else if (o->shortname != 0)
        snprintf(left, sizeof(left), "  -%c, ", o->shortname);
    if (o->longname != NULL)
        cat(left, sizeof(left), "--", o->longname);
    if (o->alias != NULL) {
        snprintf(alias, sizeof(alias), "--%s", o->alias);
        if (strstr(o->help, alias) == NULL)
            cat(left, sizeof(left), ", ", alias);
    }
    if (o->arg != NULL)
        cat(left, sizeof(left), o->longname != NULL ? " " : "", o->arg);
    n = strlen(left);
    fprintf(out, "%s%*s", left, n < HELP_COLUMN ? (int)(HELP_COLUMN - n) : 2,
            "");
    for (;;) {
        size_t len = strcspn(line, "\n");

        fprintf(out, "%.*s\n", (int)len, line);
        if (line[len] == '\0')
            break;
        line += len + 1;
        fprintf(out, "%*s", HELP_COLUMN, "");
    }
}

void
pr_options_usage(FILE *out)
{
    size_t i;

    fputs(usage_head, out);
    for (i = 0; i < PR_ARRAY_SIZE(opts); i++) {
        const struct opt *o = &opts[i];

        if (o->heading == NULL) {
            print_option(out, o);
            continue;
        }
        /* Groups are apart by a blank line; the head ends with one. */
        if (i > 0)
            fputc('\n', out);
        if (o->heading[0] != '\0')
            fprintf(out, "%s\n", o->heading);
    }
    fputs(usage_tail, out);
}
