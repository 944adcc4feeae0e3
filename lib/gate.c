/*
 * gate: see gate.h.
 */
#include "gate.h"

int
pr_gate_active(const struct pr_gate *g)
{
    return g->delay > 0 || g->memfree != 0 || g->load > 0;
}

uint64_t
pr_gate_wait(struct pr_gate *g, uint64_t now_ns,
             const struct pr_gate_probe *probe)
{
    uint64_t wait = 0;

    if (g->delay > 0 && g->last_start != 0) {
        uint64_t gap = (uint64_t)(g->delay * 1e9 + 0.5);

        if (now_ns - g->last_start < gap)
            wait = (g->last_start + gap - now_ns + 999999) / 1000000;
    }
    if (wait == 0 && g->memfree != 0 && probe->free_memory() < g->memfree)
        wait = PR_GATE_RECHECK_MS;
    if (wait == 0 && g->load > 0 && probe->load1() >= g->load)
        wait = PR_GATE_RECHECK_MS;
    if (wait == 0)
        g->last_start = now_ns;
    return wait;
}

void
pr_gate_started(struct pr_gate *g, uint64_t start_ns)
{
    if (start_ns > g->last_start)
        g->last_start = start_ns;
}
