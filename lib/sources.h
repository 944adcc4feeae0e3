/*
 * sources: several inputs combined, as GNU parallel combines them
 * (`::: a b ::: 1 2`, `:::: FILE`, `-a F1 -a F2`), and --colsep and
 * --header, which need a whole line's columns.  Each input is read whole
 * when it is added (the product needs every value of every input but the
 * first, and --link recycles the shorter ones); tasks are then made one by
 * one as the intake takes them, so only the inputs are in memory, never
 * the combinations.  A task's items are the values of its combination,
 * input by input, each split into its columns with --colsep: {1}, {2}...
 * One input without --colsep or --header stays with source_lines, which
 * streams.
 */
#ifndef PR_SOURCES_H
#define PR_SOURCES_H

#include <regex.h>
#include <stddef.h>

#include "source.h"

struct pr_sources_options {
    char delim;            /* between the items of a file: '\n', '\0'... */
    const char *sentinel;  /* -E: an input's item that ends that input */
    int link;              /* --link: the inputs pair up instead of
                              combining; the shorter ones start over */
    const char *colsep;    /* --colsep: a POSIX extended regex that splits
                              each item into columns; or NULL */
    int header;            /* --header :: an input's first item names its
                              position (with colsep, its columns) */
    int run_once_if_empty; /* no combination at all: one task with none */
};

/* Compiles --colsep's pattern into re (a POSIX extended regex; \t stands
 * for a tab, as in GNU parallel).  Returns 0 (free re with regfree), or
 * UV_EINVAL with why in msg. */
int pr_sources_colsep(regex_t *re, const char *pattern, char *msg,
                      size_t msglen);

/* Returns a new source with no input yet; free with pr_source_free.
 * o->colsep must have passed pr_sources_colsep. */
struct pr_source *pr_sources_new(const struct pr_sources_options *o);

/* Adds an input: the items of fd, read to its end now (fd stays the
 * caller's), or the n items given (copied).  With linked, the input pairs
 * with the one before (:::+, ::::+): a group of linked inputs gives as
 * many values as its shortest.  Returns 0, or the negative error reading
 * fd.  Only before the source starts. */
int pr_sources_add_fd(struct pr_source *src, int fd, int linked);
void pr_sources_add_items(struct pr_source *src, char *const *items, int n,
                          int linked);

/* With header: the names of the positions so far ({names[i]} is
 * {i+1}).  Returns their count; *names stays the source's. */
int pr_sources_names(const struct pr_source *src, const char *const **names);

#endif
