/*
 * median: the running median of many values in bounded memory, as GNU
 * parallel's --timeout N% keeps it: a remedian (Rousseeuw and Bassett,
 * 1990) of three levels of 999.  Exact up to 999 values; past that, a
 * median of medians.  Where the count is even, the lower middle value.
 */
#ifndef PR_MEDIAN_H
#define PR_MEDIAN_H

#include <stdint.h>

#define PR_MEDIAN_BASE 999

struct pr_median {
    double level[3][PR_MEDIAN_BASE];
    uint64_t n; /* values added */
};

/* Empties m (also its first use: a zeroed struct is empty too). */
void pr_median_init(struct pr_median *m);

/* Adds v; returns the median of what was added so far. */
double pr_median_add(struct pr_median *m, double v);

#endif
