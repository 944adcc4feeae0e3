/*
 * rq_none: rq.h in a build without hiredis (cmake -DPR_REDIS=OFF, or no
 * libhiredis-dev): everything that needs a connection says UV_ENOTSUP, so
 * that cmd/ can tell users this poolrun has no Redis support.
 */
#include "rq.h"

int
pr_rq_built_in(void)
{
    return 0;
}

int
pr_rq_client_open(struct pr_rq_client **out, const struct pr_rq_config *c)
{
    (void)c;
    *out = NULL;
    return UV_ENOTSUP;
}

void
pr_rq_client_free(struct pr_rq_client *c)
{
    (void)c;
}

const char *
pr_rq_client_error(const struct pr_rq_client *c)
{
    (void)c;
    return "";
}

int
pr_rq_submit(struct pr_rq_client *c, size_t n, const char *const *ids,
             const char *const *tasks, uint64_t *added)
{
    return UV_ENOTSUP;
}

int
pr_rq_counts(struct pr_rq_client *c, struct pr_rq_counts *out)
{
    return UV_ENOTSUP;
}

int
pr_rq_each_result(struct pr_rq_client *c,
                  void (*fn)(void *data, const char *id, const char *json,
                             size_t len),
                  void *data)
{
    return UV_ENOTSUP;
}

int
pr_rq_close_queue(struct pr_rq_client *c)
{
    return UV_ENOTSUP;
}

int
pr_rq_cancel(struct pr_rq_client *c, const char *id, const char **result)
{
    return UV_ENOTSUP;
}

int
pr_rq_source_new(struct pr_source **out, uv_loop_t *loop,
                 const struct pr_rq_worker_config *cfg)
{
    *out = NULL;
    return UV_ENOTSUP;
}
