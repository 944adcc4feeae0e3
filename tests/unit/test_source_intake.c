/* Unit tests of the sources against source.h's contract, driven by a fake
 * intake (no pool): tasks come in order, none while the intake is not
 * accepting and the rest after resume, end exactly once (also after a
 * stop, and never again from a stop after it), fail names the bad line
 * and comes before end. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "source.h"
#include "source_json.h"
#include "source_lines.h"
#include "sources.h"
#include "task.h"
#include "test.h"

int pr_test_failed;

#define MAX_PUT 16

/* Records every call; `room` is how many more tasks it accepts (-1: any
 * number). */
struct fake {
    struct pr_intake in;
    int room;
    struct pr_task *tasks[MAX_PUT];
    int nput;
    int bad_put; /* a put while not accepting, or after end */
    int ends;
    int end_err;
    int fails;
    int fail_after_end;
    int fail_at; /* calls before the fail */
    int end_at;  /* calls before the (last) end */
    int calls;
    char msg[1024];
};

static int
fake_accepting(void *data)
{
    struct fake *f = data;

    return f->room != 0 && f->ends == 0;
}

static void
fake_put(void *data, struct pr_task *task)
{
    struct fake *f = data;

    f->calls++;
    if (!fake_accepting(f) || f->nput == MAX_PUT) {
        f->bad_put = 1;
        pr_task_free(task);
        return;
    }
    if (f->room > 0)
        f->room--;
    f->tasks[f->nput++] = task;
}

static void
fake_end(void *data, int err)
{
    struct fake *f = data;

    f->end_at = f->calls++;
    f->ends++;
    f->end_err = err;
}

static void
fake_fail(void *data, const char *msg)
{
    struct fake *f = data;

    f->fail_at = f->calls++;
    f->fails++;
    if (f->ends > 0)
        f->fail_after_end = 1;
    snprintf(f->msg, sizeof(f->msg), "%s", msg);
}

static void
fake_init(struct fake *f, int room)
{
    memset(f, 0, sizeof(*f));
    f->in.data = f;
    f->in.accepting = fake_accepting;
    f->in.put = fake_put;
    f->in.end = fake_end;
    f->in.fail = fake_fail;
    f->room = room;
}

static void
fake_free(struct fake *f)
{
    int i;

    for (i = 0; i < f->nput; i++)
        pr_task_free(f->tasks[i]);
    f->nput = 0;
}

/* The first item of the i-th task put, as a string. */
static const char *
item_of(const struct fake *f, int i, char *buf, size_t size)
{
    const struct pr_task *t = f->tasks[i];

    if (t->nitems == 0)
        snprintf(buf, size, "(none)");
    else
        snprintf(buf, size, "%.*s", (int)t->items[0].len, t->items[0].p);
    return buf;
}

#define ASSERT_ITEM(f, i, s)                                                   \
    do {                                                                       \
        char b_[64];                                                           \
        ASSERT_TRUE(strcmp(item_of((f), (i), b_, sizeof(b_)), (s)) == 0);      \
    } while (0)

static void
lines_options(struct pr_source_lines_options *o)
{
    memset(o, 0, sizeof(*o));
    o->delim = '\n';
}

/* A pipe holding text; its write end is closed unless keep_open, in which
 * case *wfd is it. */
static int
pipe_with(const char *text, int keep_open, int *wfd)
{
    int p[2];

    if (pipe(p) != 0)
        return -1;
    if (write(p[1], text, strlen(text)) != (ssize_t)strlen(text))
        return -1;
    if (keep_open)
        *wfd = p[1];
    else
        close(p[1]);
    return p[0];
}

static void
args_source_puts_every_item_in_order_then_ends_once(void)
{
    char s[][2] = {"a", "b", "c"};
    char *items[] = {s[0], s[1], s[2]};
    struct pr_source_lines_options o;
    struct pr_source *src;
    struct fake f;

    fake_init(&f, -1);
    lines_options(&o);
    src = pr_source_args_new(items, 3, &o);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    ASSERT_EQ(f.nput, 3);
    ASSERT_ITEM(&f, 0, "a");
    ASSERT_ITEM(&f, 1, "b");
    ASSERT_ITEM(&f, 2, "c");
    ASSERT_EQ(f.ends, 1);
    ASSERT_EQ(f.end_err, 0);
    ASSERT_EQ(f.end_at, 3);
    ASSERT_EQ(f.bad_put, 0);
    pr_source_free(src);
    fake_free(&f);
}

static void
args_source_not_accepting_waits_for_resume(void)
{
    char s[][2] = {"a", "b", "c", "d", "e"};
    char *items[] = {s[0], s[1], s[2], s[3], s[4]};
    struct pr_source_lines_options o;
    struct pr_source *src;
    struct fake f;

    fake_init(&f, 2);
    lines_options(&o);
    src = pr_source_args_new(items, 5, &o);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    ASSERT_EQ(f.nput, 2);
    ASSERT_EQ(f.ends, 0);
    /* Still no room: a resume puts nothing. */
    pr_source_resume(src);
    ASSERT_EQ(f.nput, 2);
    f.room = 2;
    pr_source_resume(src);
    ASSERT_EQ(f.nput, 4);
    ASSERT_EQ(f.ends, 0);
    f.room = 1;
    pr_source_resume(src);
    ASSERT_EQ(f.nput, 5);
    ASSERT_ITEM(&f, 2, "c");
    ASSERT_ITEM(&f, 4, "e");
    ASSERT_EQ(f.ends, 1);
    ASSERT_EQ(f.bad_put, 0);
    pr_source_free(src);
    fake_free(&f);
}

static void
args_source_last_short_group_waits_for_room(void)
{
    char s[][2] = {"a", "b", "c"};
    char *items[] = {s[0], s[1], s[2]};
    struct pr_source_lines_options o;
    struct pr_source *src;
    struct fake f;

    fake_init(&f, 1);
    lines_options(&o);
    o.per_task = 2;
    src = pr_source_args_new(items, 3, &o);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    ASSERT_EQ(f.nput, 1);
    ASSERT_EQ(f.tasks[0]->nitems, 2);
    /* The short last group needs room too, and the end comes after it. */
    ASSERT_EQ(f.ends, 0);
    f.room = 1;
    pr_source_resume(src);
    ASSERT_EQ(f.nput, 2);
    ASSERT_EQ(f.tasks[1]->nitems, 1);
    ASSERT_ITEM(&f, 1, "c");
    ASSERT_EQ(f.ends, 1);
    ASSERT_EQ(f.bad_put, 0);
    pr_source_free(src);
    fake_free(&f);
}

static void
args_source_stop_ends_once_and_puts_no_more(void)
{
    char s[][2] = {"a", "b", "c"};
    char *items[] = {s[0], s[1], s[2]};
    struct pr_source_lines_options o;
    struct pr_source *src;
    struct fake f;

    fake_init(&f, 1);
    lines_options(&o);
    src = pr_source_args_new(items, 3, &o);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    ASSERT_EQ(f.nput, 1);
    pr_source_stop(src);
    ASSERT_EQ(f.ends, 1);
    ASSERT_EQ(f.end_err, 0);
    pr_source_stop(src);
    f.room = -1;
    pr_source_resume(src);
    ASSERT_EQ(f.ends, 1);
    ASSERT_EQ(f.nput, 1);
    pr_source_free(src);
    fake_free(&f);
}

static void
args_source_stop_after_end_does_not_end_again(void)
{
    char s[] = "a";
    char *items[] = {s};
    struct pr_source_lines_options o;
    struct pr_source *src;
    struct fake f;

    fake_init(&f, -1);
    lines_options(&o);
    src = pr_source_args_new(items, 1, &o);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    ASSERT_EQ(f.ends, 1);
    pr_source_stop(src);
    ASSERT_EQ(f.ends, 1);
    pr_source_free(src);
    fake_free(&f);
}

static void
lines_source_puts_lines_in_order_then_ends_once(void)
{
    struct pr_source_lines_options o;
    struct pr_source *src;
    struct fake f;
    uv_loop_t loop;
    int fd = pipe_with("one\n\ntwo\nthree", 0, NULL);

    ASSERT_TRUE(fd > 2);
    ASSERT_EQ(uv_loop_init(&loop), 0);
    fake_init(&f, -1);
    lines_options(&o);
    src = pr_source_lines_new(&loop, &fd, 1, &o);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    /* The empty line makes no task; the last needs no newline. */
    ASSERT_EQ(f.nput, 3);
    ASSERT_ITEM(&f, 0, "one");
    ASSERT_ITEM(&f, 1, "two");
    ASSERT_ITEM(&f, 2, "three");
    ASSERT_EQ(f.ends, 1);
    ASSERT_EQ(f.end_err, 0);
    ASSERT_EQ(f.end_at, 3);
    pr_source_stop(src);
    ASSERT_EQ(f.ends, 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    pr_source_free(src);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    ASSERT_EQ(f.bad_put, 0);
    fake_free(&f);
}

static void
lines_source_not_accepting_stops_reading_until_resume(void)
{
    struct pr_source_lines_options o;
    struct pr_source *src;
    struct fake f;
    uv_loop_t loop;
    int fd = pipe_with("a\nb\nc\nd\ne\n", 0, NULL);

    ASSERT_TRUE(fd > 2);
    ASSERT_EQ(uv_loop_init(&loop), 0);
    fake_init(&f, 2);
    lines_options(&o);
    src = pr_source_lines_new(&loop, &fd, 1, &o);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    /* The loop returns: with no room, nothing reads. */
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ(f.nput, 2);
    ASSERT_EQ(f.ends, 0);
    pr_source_resume(src);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ(f.nput, 2);
    f.room = 2;
    pr_source_resume(src);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ(f.nput, 4);
    ASSERT_EQ(f.ends, 0);
    f.room = -1;
    pr_source_resume(src);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ(f.nput, 5);
    ASSERT_ITEM(&f, 3, "d");
    ASSERT_ITEM(&f, 4, "e");
    ASSERT_EQ(f.ends, 1);
    ASSERT_EQ(f.end_err, 0);
    ASSERT_EQ(f.bad_put, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    pr_source_free(src);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    fake_free(&f);
}

static void
lines_source_stop_mid_input_ends_once_and_reads_no_more(void)
{
    struct pr_source_lines_options o;
    struct pr_source *src;
    struct fake f;
    uv_loop_t loop;
    int wfd = -1;
    int fd = pipe_with("a\nb\nc\n", 1, &wfd);

    ASSERT_TRUE(fd > 2);
    ASSERT_EQ(uv_loop_init(&loop), 0);
    fake_init(&f, 1);
    lines_options(&o);
    src = pr_source_lines_new(&loop, &fd, 1, &o);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ(f.nput, 1);
    /* More input (written while the read end is open: no SIGPIPE). */
    ASSERT_EQ(write(wfd, "d\n", 2), 2);
    pr_source_stop(src);
    ASSERT_EQ(f.ends, 1);
    ASSERT_EQ(f.end_err, 0);
    pr_source_stop(src);
    ASSERT_EQ(f.ends, 1);
    /* Input and room: nothing is read after a stop. */
    f.room = -1;
    pr_source_resume(src);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ(f.nput, 1);
    ASSERT_EQ(f.ends, 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    pr_source_free(src);
    close(wfd);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    ASSERT_EQ(f.bad_put, 0);
    fake_free(&f);
}

static void
lines_source_json_bad_line_fails_naming_it_then_ends(void)
{
    struct pr_source_lines_options o;
    struct pr_source *src;
    struct fake f;
    uv_loop_t loop;
    int fd =
        pipe_with("{\"cmd\": \"a\"}\nnot json\n{\"cmd\": \"c\"}\n", 0, NULL);

    ASSERT_TRUE(fd > 2);
    ASSERT_EQ(uv_loop_init(&loop), 0);
    fake_init(&f, -1);
    lines_options(&o);
    o.json_name = "in.jsonl";
    src = pr_source_lines_new(&loop, &fd, 1, &o);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ(f.nput, 1);
    ASSERT_MEM_EQ(f.tasks[0]->line, f.tasks[0]->line_len, "a");
    ASSERT_EQ(f.fails, 1);
    ASSERT_TRUE(strncmp(f.msg, "in.jsonl:2:", 11) == 0);
    ASSERT_EQ(f.ends, 1);
    ASSERT_EQ(f.end_err, UV_EINVAL);
    ASSERT_TRUE(f.fail_at < f.end_at);
    ASSERT_EQ(f.fail_after_end, 0);
    pr_source_stop(src);
    ASSERT_EQ(f.ends, 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    pr_source_free(src);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    fake_free(&f);
}

static void
lines_source_json_id_used_twice_fails_naming_both_places(void)
{
    struct pr_source_lines_options o;
    struct pr_source *src;
    struct fake f;
    uv_loop_t loop;
    int fd = pipe_with("{\"id\": \"x\", \"cmd\": \"a\"}\n"
                       "{\"id\": \"x\", \"cmd\": \"b\"}\n",
                       0, NULL);

    ASSERT_TRUE(fd > 2);
    ASSERT_EQ(uv_loop_init(&loop), 0);
    fake_init(&f, -1);
    lines_options(&o);
    o.json_name = "in.jsonl";
    src = pr_source_lines_new(&loop, &fd, 1, &o);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ(f.nput, 1);
    ASSERT_EQ(f.fails, 1);
    ASSERT_TRUE(strncmp(f.msg, "in.jsonl:2:", 11) == 0);
    ASSERT_TRUE(strstr(f.msg, "(first at in.jsonl:1:") != NULL);
    ASSERT_EQ(f.ends, 1);
    ASSERT_EQ(f.end_err, UV_EINVAL);
    uv_run(&loop, UV_RUN_DEFAULT);
    pr_source_free(src);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    fake_free(&f);
}

static void
lines_source_unreadable_second_input_ends_with_its_error(void)
{
    struct pr_source_lines_options o;
    struct pr_source *src;
    struct fake f;
    uv_loop_t loop;
    int fds[2];

    fds[0] = pipe_with("x\n", 0, NULL);
    fds[1] = open("/", O_RDONLY | O_DIRECTORY);
    ASSERT_TRUE(fds[0] > 2);
    ASSERT_TRUE(fds[1] > 2);
    ASSERT_EQ(uv_loop_init(&loop), 0);
    fake_init(&f, -1);
    lines_options(&o);
    src = pr_source_lines_new(&loop, fds, 2, &o);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ(f.nput, 1);
    ASSERT_ITEM(&f, 0, "x");
    ASSERT_EQ(f.ends, 1);
    ASSERT_EQ(f.end_err, UV_EISDIR);
    ASSERT_EQ(f.fails, 0);
    ASSERT_EQ(pr_source_lines_failed_input(src), 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    pr_source_free(src);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    fake_free(&f);
}

static void
lines_source_start_that_fails_puts_and_ends_nothing(void)
{
    struct pr_source_lines_options o;
    struct pr_source *src;
    struct fake f;
    uv_loop_t loop;
    int fd = open("/", O_RDONLY | O_DIRECTORY);

    ASSERT_TRUE(fd > 2);
    ASSERT_EQ(uv_loop_init(&loop), 0);
    fake_init(&f, -1);
    lines_options(&o);
    src = pr_source_lines_new(&loop, &fd, 1, &o);
    ASSERT_EQ(pr_source_start(src, &f.in), UV_EISDIR);
    ASSERT_EQ(f.nput, 0);
    ASSERT_EQ(f.ends, 0);
    /* The caller took the error as the end: a stop adds nothing. */
    pr_source_stop(src);
    ASSERT_EQ(f.ends, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    pr_source_free(src);
    ASSERT_EQ(uv_loop_close(&loop), 0);
}

static void
tasks_source_puts_services_first_then_in_order(void)
{
    static const char text[] =
        "{\"tasks\": [{\"cmd\": \"a\"}, {\"cmd\": \"s\", \"daemon\": true},"
        " {\"cmd\": \"b\"}, {\"cmd\": \"c\"}]}";
    struct pr_jobfile jf;
    struct pr_diag d;
    struct pr_source *src;
    struct fake f;

    pr_jobfile_init(&jf);
    ASSERT_EQ(pr_jobfile_load_mem(&jf, "j.json", text, strlen(text), NULL, &d),
              0);
    src = pr_source_tasks_new(&jf);
    ASSERT_EQ(jf.ntasks, 0);
    fake_init(&f, 2);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    ASSERT_EQ(f.nput, 2);
    ASSERT_EQ(f.ends, 0);
    f.room = -1;
    pr_source_resume(src);
    ASSERT_EQ(f.nput, 4);
    ASSERT_MEM_EQ(f.tasks[0]->line, f.tasks[0]->line_len, "s");
    ASSERT_MEM_EQ(f.tasks[1]->line, f.tasks[1]->line_len, "a");
    ASSERT_MEM_EQ(f.tasks[2]->line, f.tasks[2]->line_len, "b");
    ASSERT_MEM_EQ(f.tasks[3]->line, f.tasks[3]->line_len, "c");
    ASSERT_EQ(f.ends, 1);
    ASSERT_EQ(f.end_err, 0);
    pr_source_stop(src);
    ASSERT_EQ(f.ends, 1);
    ASSERT_EQ(f.bad_put, 0);
    pr_source_free(src);
    fake_free(&f);
}

static void
tasks_source_stop_ends_once_and_frees_what_was_not_put(void)
{
    static const char text[] =
        "{\"tasks\": [{\"cmd\": \"a\"}, {\"cmd\": \"b\"}, {\"cmd\": \"c\"}]}";
    struct pr_jobfile jf;
    struct pr_diag d;
    struct pr_source *src;
    struct fake f;

    pr_jobfile_init(&jf);
    ASSERT_EQ(pr_jobfile_load_mem(&jf, "j.json", text, strlen(text), NULL, &d),
              0);
    src = pr_source_tasks_new(&jf);
    fake_init(&f, 1);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    ASSERT_EQ(f.nput, 1);
    pr_source_stop(src);
    ASSERT_EQ(f.ends, 1);
    pr_source_stop(src);
    f.room = -1;
    pr_source_resume(src);
    ASSERT_EQ(f.ends, 1);
    ASSERT_EQ(f.nput, 1);
    /* b and c were never put: freeing the source frees them (ASan's leak
     * check sees it). */
    pr_source_free(src);
    fake_free(&f);
}

/* A source with every op, to check the wrappers of the optional ones. */
struct counting {
    struct pr_source base;
    int ended;
    int requeued;
};

static int
counting_start(struct pr_source *src, const struct pr_intake *in)
{
    return 0;
}

static void
counting_nothing(struct pr_source *src)
{
}

static void
counting_ended(struct pr_source *src, const struct pr_task *task)
{
    ((struct counting *)src)->ended++;
}

static int
counting_requeue(struct pr_source *src, struct pr_task *task)
{
    ((struct counting *)src)->requeued++;
    return 1;
}

/* The items of the i-th task put, joined by spaces, into buf. */
static const char *
items_of(const struct fake *f, int i, char *buf, size_t size)
{
    const struct pr_task *t = f->tasks[i];
    size_t n = 0;
    unsigned k;

    buf[0] = '\0';
    for (k = 0; k < t->nitems && n < size; k++)
        n += (size_t)snprintf(buf + n, size - n, "%s%.*s", k ? " " : "",
                              (int)t->items[k].len, t->items[k].p);
    return buf;
}

#define ASSERT_ITEMS(f, i, s)                                                  \
    do {                                                                       \
        char b_[128];                                                          \
        ASSERT_TRUE(strcmp(items_of((f), (i), b_, sizeof(b_)), (s)) == 0);     \
    } while (0)

static void
sources_combine_the_last_input_fastest_as_the_intake_takes_them(void)
{
    char s[][2] = {"a", "b", "1", "2"};
    char *letters[] = {s[0], s[1]};
    char *digits[] = {s[2], s[3]};
    struct pr_sources_options o = {.delim = '\n'};
    struct pr_source *src = pr_sources_new(&o);
    struct fake f;

    fake_init(&f, 3);
    pr_sources_add_items(src, letters, 2, 0);
    pr_sources_add_items(src, digits, 2, 0);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    ASSERT_EQ(f.nput, 3);
    ASSERT_EQ(f.ends, 0);
    f.room = -1;
    pr_source_resume(src);
    ASSERT_EQ(f.nput, 4);
    ASSERT_EQ(f.ends, 1);
    ASSERT_EQ(f.bad_put, 0);
    ASSERT_ITEMS(&f, 0, "a 1");
    ASSERT_ITEMS(&f, 1, "a 2");
    ASSERT_ITEMS(&f, 2, "b 1");
    ASSERT_ITEMS(&f, 3, "b 2");
    pr_source_stop(src);
    ASSERT_EQ(f.ends, 1);
    fake_free(&f);
    pr_source_free(src);
}

static void
sources_link_starts_shorter_inputs_over_and_plus_stops_at_the_shorter(void)
{
    char s[][2] = {"a", "b", "c", "1", "2"};
    char *letters[] = {s[0], s[1], s[2]};
    char *digits[] = {s[3], s[4]};
    struct pr_sources_options o = {.delim = '\n', .link = 1};
    struct pr_source *src = pr_sources_new(&o);
    struct fake f;

    fake_init(&f, -1);
    pr_sources_add_items(src, letters, 3, 0);
    pr_sources_add_items(src, digits, 2, 0);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    ASSERT_EQ(f.nput, 3);
    ASSERT_ITEMS(&f, 2, "c 1");
    fake_free(&f);
    pr_source_free(src);
    o.link = 0;
    src = pr_sources_new(&o);
    fake_init(&f, -1);
    pr_sources_add_items(src, letters, 3, 0);
    pr_sources_add_items(src, digits, 2, 1);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    ASSERT_EQ(f.nput, 2);
    ASSERT_ITEMS(&f, 1, "b 2");
    ASSERT_EQ(f.ends, 1);
    fake_free(&f);
    pr_source_free(src);
}

static void
sources_colsep_splits_columns_and_header_names_them(void)
{
    struct pr_sources_options o = {.delim = '\n', .colsep = ",+", .header = 1};
    struct pr_source *src = pr_sources_new(&o);
    const char *const *names;
    struct fake f;
    int fd = pipe_with("n1,n2\nv1,,v2\n\nw1,w2", 0, NULL);

    fake_init(&f, -1);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(pr_sources_add_fd(src, fd, 0), 0);
    close(fd);
    ASSERT_EQ(pr_sources_names(src, &names), 2);
    ASSERT_TRUE(strcmp(names[1], "n2") == 0);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    ASSERT_EQ(f.nput, 2);
    ASSERT_EQ(f.tasks[0]->nitems, 2);
    ASSERT_ITEMS(&f, 0, "v1 v2");
    ASSERT_ITEMS(&f, 1, "w1 w2");
    fake_free(&f);
    pr_source_free(src);
}

static void
sources_empty_input_gives_no_task_or_the_one_with_none(void)
{
    char s[][2] = {"a"};
    char *items[] = {s[0]};
    struct pr_sources_options o = {.delim = '\n'};
    struct pr_source *src = pr_sources_new(&o);
    struct fake f;

    fake_init(&f, -1);
    pr_sources_add_items(src, items, 1, 0);
    pr_sources_add_items(src, items, 0, 0);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    ASSERT_EQ(f.nput, 0);
    ASSERT_EQ(f.ends, 1);
    pr_source_free(src);
    o.run_once_if_empty = 1;
    src = pr_sources_new(&o);
    fake_init(&f, -1);
    pr_sources_add_items(src, items, 0, 0);
    ASSERT_EQ(pr_source_start(src, &f.in), 0);
    ASSERT_EQ(f.nput, 1);
    ASSERT_EQ(f.tasks[0]->nitems, 0);
    ASSERT_EQ(f.ends, 1);
    fake_free(&f);
    pr_source_free(src);
}

static void
source_optional_ops_default_when_null_are_called_when_set(void)
{
    static const struct pr_source_ops bare = {
        .start = counting_start,
        .resume = counting_nothing,
        .stop = counting_nothing,
        .free = counting_nothing,
    };
    static const struct pr_source_ops full = {
        .start = counting_start,
        .resume = counting_nothing,
        .stop = counting_nothing,
        .ended = counting_ended,
        .requeue = counting_requeue,
        .free = counting_nothing,
    };
    struct counting c;
    struct pr_task *task = pr_task_new(1, "x", 1);

    memset(&c, 0, sizeof(c));
    ASSERT_TRUE(task->src == NULL);
    ASSERT_TRUE(task->origin == NULL);
    c.base.ops = &bare;
    pr_source_ended(&c.base, task);
    ASSERT_EQ(pr_source_requeue(&c.base, task), 0);
    c.base.ops = &full;
    pr_source_ended(&c.base, task);
    ASSERT_EQ(pr_source_requeue(&c.base, task), 1);
    ASSERT_EQ(c.ended, 1);
    ASSERT_EQ(c.requeued, 1);
    pr_source_free(NULL);
    pr_task_free(task);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(args_source_puts_every_item_in_order_then_ends_once),
        TEST_CASE(args_source_not_accepting_waits_for_resume),
        TEST_CASE(args_source_last_short_group_waits_for_room),
        TEST_CASE(args_source_stop_ends_once_and_puts_no_more),
        TEST_CASE(args_source_stop_after_end_does_not_end_again),
        TEST_CASE(lines_source_puts_lines_in_order_then_ends_once),
        TEST_CASE(lines_source_not_accepting_stops_reading_until_resume),
        TEST_CASE(lines_source_stop_mid_input_ends_once_and_reads_no_more),
        TEST_CASE(lines_source_json_bad_line_fails_naming_it_then_ends),
        TEST_CASE(lines_source_json_id_used_twice_fails_naming_both_places),
        TEST_CASE(lines_source_unreadable_second_input_ends_with_its_error),
        TEST_CASE(lines_source_start_that_fails_puts_and_ends_nothing),
        TEST_CASE(tasks_source_puts_services_first_then_in_order),
        TEST_CASE(tasks_source_stop_ends_once_and_frees_what_was_not_put),
        TEST_CASE(source_optional_ops_default_when_null_are_called_when_set),
        TEST_CASE(
            sources_combine_the_last_input_fastest_as_the_intake_takes_them),
        TEST_CASE(
            sources_link_starts_shorter_inputs_over_and_plus_stops_at_the_shorter),
        TEST_CASE(sources_colsep_splits_columns_and_header_names_them),
        TEST_CASE(sources_empty_input_gives_no_task_or_the_one_with_none),
    };

    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
