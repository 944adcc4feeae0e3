/*
 * report_verb: `poolrun report RUN|- [-o FILE.html|FILE.svg]`.  The format
 * comes from -o's suffix, so that a name and its content cannot disagree; any
 * other suffix is refused rather than guessed.
 */
#include "report_verb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <uv.h>

#include "report.h"
#include "report_html.h"
#include "report_svg.h"
#include "util.h"

#define EXIT_OWN_ERROR 255

struct report_opts {
    const char *input;
    const char *output; /* NULL: stdout */
    int svg;
};

static int
usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "poolrun: report: %s%s%s\nTry 'poolrun report --help'.\n",
            what, arg ? ": " : "", arg ? arg : "");
    return EXIT_OWN_ERROR;
}

/* .html, .htm or .svg (any case); else the message for a name. */
static int
format_of(struct report_opts *o)
{
    const char *dot = strrchr(o->output, '.');

    if (dot != NULL && strchr(dot, '/') == NULL) {
        if (strcasecmp(dot, ".svg") == 0) {
            o->svg = 1;
            return 0;
        }
        if (strcasecmp(dot, ".html") == 0 || strcasecmp(dot, ".htm") == 0)
            return 0;
    }
    fprintf(stderr,
            "poolrun: report: -o %s: unknown format: name the file .html or "
            ".svg\n",
            o->output);
    return EXIT_OWN_ERROR;
}

static int
parse(int argc, char **argv, struct report_opts *o)
{
    int i, dashdash = 0;

    memset(o, 0, sizeof(*o));
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!dashdash && strcmp(a, "--") == 0) {
            dashdash = 1;
        } else if (!dashdash &&
                   (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)) {
            if (++i == argc)
                return usage_error("-o needs a file name", NULL);
            o->output = argv[i];
        } else if (!dashdash && strncmp(a, "--output=", 9) == 0) {
            o->output = a + 9;
        } else if (!dashdash && a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option", a);
        } else if (o->input != NULL) {
            return usage_error("one run at a time; also given", a);
        } else {
            o->input = a;
        }
    }
    if (o->input == NULL)
        return usage_error("name the run's --results or --joblog file", NULL);
    if (o->output != NULL && o->output[0] == '\0')
        return usage_error("-o needs a file name", NULL);
    return o->output != NULL ? format_of(o) : 0;
}

static int
load_failed(const char *path, int rc, const struct pr_report_error *err)
{
    if (rc == UV_EINVAL && err->line != 0)
        fprintf(stderr, "poolrun: %s:%lu: %s\n", path, err->line, err->why);
    else if (rc == UV_EINVAL)
        fprintf(stderr, "poolrun: %s: %s\n", path, err->why);
    else if (rc == UV_EISDIR)
        fprintf(stderr,
                "poolrun: report: %s: a directory, not a --results file or "
                "--joblog\n",
                path);
    else
        fprintf(stderr, "poolrun: report: %s: cannot read: %s\n", path,
                pr_err_text(rc));
    return EXIT_OWN_ERROR;
}

static int
write_out(const struct report_opts *o, const struct pr_buf *b)
{
    int fd = 1, rc;

    if (o->output != NULL) {
        fd = open(o->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd < 0) {
            fprintf(stderr, "poolrun: report: -o %s: cannot write: %s\n",
                    o->output, pr_err_text(-errno));
            return EXIT_OWN_ERROR;
        }
    }
    rc = pr_write_all(fd, b->data, b->len);
    if (o->output != NULL && close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc != 0) {
        fprintf(stderr, "poolrun: report: %s%s: cannot write: %s\n",
                o->output ? "-o " : "", o->output ? o->output : "stdout",
                pr_err_text(rc));
        return EXIT_OWN_ERROR;
    }
    return 0;
}

int
pr_cmd_report(int argc, char **argv)
{
    struct report_opts o;
    struct pr_report r;
    struct pr_report_error err;
    struct pr_buf b = {0};
    const char *title, *name;
    int rc = parse(argc, argv, &o);

    if (rc != 0)
        return rc;
    name = strcmp(o.input, "-") == 0 ? "standard input" : o.input;
    rc = pr_report_load(&r, o.input, &err);
    if (rc != 0) {
        pr_report_free(&r);
        return load_failed(name, rc, &err);
    }
    title = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    if (o.svg) {
        pr_buf_appendf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        pr_report_svg(&b, &r, title, 1);
    } else {
        pr_report_html(&b, &r, title);
    }
    rc = write_out(&o, &b);
    pr_buf_free(&b);
    pr_report_free(&r);
    return rc;
}
