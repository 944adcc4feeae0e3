/*
 * median: a remedian.  Level 0 holds the last values (a ring of 999);
 * each entry of level 1 is the median of one 999 values of level 0, each
 * of level 2 the median of 999 of level 1; the result is the median of
 * level 2.  A level's filled part is what has been written of it so far.
 */
#include "median.h"

#include <stdlib.h>
#include <string.h>

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The lower median of v[0..n), n >= 1. */
static double
median_of(const double *v, size_t n)
{
    double sorted[PR_MEDIAN_BASE];

    memcpy(sorted, v, n * sizeof(*v));
    qsort(sorted, n, sizeof(*sorted), cmp_double);
    return sorted[(n - 1) / 2];
}

/* How many entries of a level are filled once i + 1 values were added
 * and the level's entries each stand for `per` values. */
static size_t
filled(uint64_t i, uint64_t per)
{
    uint64_t f = i / per + 1;

    return f > PR_MEDIAN_BASE ? PR_MEDIAN_BASE : (size_t)f;
}

void
pr_median_init(struct pr_median *m)
{
    memset(m, 0, sizeof(*m));
}

double
pr_median_add(struct pr_median *m, double v)
{
    const uint64_t b = PR_MEDIAN_BASE;
    uint64_t i = m->n++;

    m->level[0][i % b] = v;
    m->level[1][(i / b) % b] = median_of(m->level[0], filled(i, 1));
    m->level[2][(i / b / b) % b] = median_of(m->level[1], filled(i, b));
    return median_of(m->level[2], filled(i, b * b));
}
