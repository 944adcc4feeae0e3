/*
 * halt: the --halt arithmetic.  Given the policy and the run's counts when
 * a final record is made, says whether the run has reached its limit.
 */
#ifndef PR_HALT_H
#define PR_HALT_H

#include <stdint.h>

#include "task.h"

enum pr_halt_when { PR_HALT_NEVER, PR_HALT_SOON, PR_HALT_NOW };
enum pr_halt_on { PR_HALT_FAIL, PR_HALT_SUCCESS, PR_HALT_DONE };

/* --halt WHEN,ON=N or ON=N% */
struct pr_halt {
    enum pr_halt_when when;
    enum pr_halt_on on;
    uint64_t count; /* N tasks, or */
    double pct;     /* N% of the tasks (when > 0) */
};

/* The counts of the run once this record is counted. */
struct pr_halt_counts {
    uint64_t ok;     /* final records that were ok */
    uint64_t failed; /* final records neither ok nor skipped */
    uint64_t known;  /* tasks read so far (all of them once input ended) */
};

/* Does a final record of this status reach the limit?  A skipped task
 * never does, nor one that does not count towards it (a success under
 * fail=N). */
int pr_halt_reached(const struct pr_halt *h, enum pr_task_status status,
                    const struct pr_halt_counts *c);

#endif
