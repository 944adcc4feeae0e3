/*
 * gate: may the next task start now?  --delay keeps starts apart; --memfree
 * and --load hold tasks back while the machine is short of memory or busy.
 * A pure policy: the clock and the machine's state come in as arguments,
 * so it tests alone.
 */
#ifndef PR_GATE_H
#define PR_GATE_H

#include <stdint.h>

/* While --memfree or --load hold tasks back, look again this often. */
#define PR_GATE_RECHECK_MS 250

struct pr_gate {
    double delay;        /* --delay: seconds between task starts; <= 0 none */
    uint64_t memfree;    /* --memfree: bytes that must be available; 0 none */
    double load;         /* --load: start below this load average; <= 0 none */
    uint64_t last_start; /* clock (ns) of the last start, 0 before any */
};

/* What the gate reads of the machine (uv_get_free_memory, uv_loadavg's
 * first value); called only when the option that needs it is set. */
struct pr_gate_probe {
    uint64_t (*free_memory)(void);
    double (*load1)(void);
};

/* Does the gate hold anything back at all? */
int pr_gate_active(const struct pr_gate *g);

/* Returns 0 if a task may start at now_ns (and takes that as its start),
 * else how many milliseconds to wait before asking again. */
uint64_t pr_gate_wait(struct pr_gate *g, uint64_t now_ns,
                      const struct pr_gate_probe *probe);

/* The task really started at start_ns (a slow spawn puts it after the
 * gate opened): --delay counts from there. */
void pr_gate_started(struct pr_gate *g, uint64_t start_ns);

#endif
