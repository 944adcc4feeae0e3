/*
 * rq_url: the URL of a Redis queue, redis://[user@]host[:port][/db]/NAME.
 * Built with or without hiredis, so that a build without Redis support can
 * still tell a queue's URL from a local queue's name.  The NAME goes into
 * the keys' hash tag, so it may not hold braces.
 */
#include <stdlib.h>
#include <string.h>

#include "rq.h"
#include "util.h"

#define PREFIX "redis://"

int
pr_rq_is_url(const char *s)
{
    return s != NULL && strncmp(s, PREFIX, strlen(PREFIX)) == 0;
}

static int
name_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (*p == '\0')
        return 0;
    for (; *p != '\0'; p++)
        if (*p <= ' ' || *p >= 0x7f || *p == '{' || *p == '}' || *p == '/')
            return 0;
    return 1;
}

/* host[:port] or [v6]:port from a..end into u. */
static int
host_port(const char *a, const char *end, struct pr_rq_url *u, const char **why)
{
    const char *colon = NULL;
    long port;
    char *num;
    int rc;

    if (*a == '[') {
        const char *close = memchr(a, ']', (size_t)(end - a));

        if (close == NULL || (close + 1 < end && close[1] != ':')) {
            *why = "a bracketed host needs its ]";
            return UV_EINVAL;
        }
        u->host = pr_xmemdup(a + 1, (size_t)(close - a - 1));
        colon = close + 1 < end ? close + 1 : NULL;
    } else {
        colon = memchr(a, ':', (size_t)(end - a));
        u->host = pr_xmemdup(a, (size_t)((colon ? colon : end) - a));
    }
    if (u->host[0] == '\0') {
        *why = "no host";
        return UV_EINVAL;
    }
    if (colon == NULL)
        return 0;
    num = pr_xmemdup(colon + 1, (size_t)(end - colon - 1));
    rc = pr_parse_long(num, 1, 65535, &port);
    free(num);
    if (rc != 0) {
        *why = "the port must be a number from 1 to 65535";
        return UV_EINVAL;
    }
    u->port = (int)port;
    return 0;
}

/* /NAME or /db/NAME from path into u. */
static int
db_name(const char *path, struct pr_rq_url *u, const char **why)
{
    const char *slash = strchr(path + 1, '/');
    long db;

    if (slash != NULL) {
        char *num = pr_xmemdup(path + 1, (size_t)(slash - path - 1));
        int rc = pr_parse_long(num, 0, 1000000, &db);

        free(num);
        if (rc != 0) {
            *why = "the database (before the queue's name) must be a number";
            return UV_EINVAL;
        }
        u->db = (int)db;
        path = slash;
    }
    if (!name_ok(path + 1)) {
        *why = "the queue's name (the last part) must be printable, without "
               "spaces, braces or slashes";
        return UV_EINVAL;
    }
    u->name = pr_xstrdup(path + 1);
    return 0;
}

int
pr_rq_url_parse(const char *s, struct pr_rq_url *u, const char **why)
{
    const char *a, *path, *at;
    int rc;

    memset(u, 0, sizeof(*u));
    u->port = 6379;
    if (!pr_rq_is_url(s)) {
        *why = "not a redis:// URL";
        return UV_EINVAL;
    }
    a = s + strlen(PREFIX);
    path = strchr(a, '/');
    if (path == NULL) {
        *why = "no queue name: redis://HOST[:PORT][/DB]/NAME";
        return UV_EINVAL;
    }
    at = memchr(a, '@', (size_t)(path - a));
    if (at != NULL && memchr(a, ':', (size_t)(at - a)) != NULL) {
        *why = "a password in the URL would be seen by every user (ps): "
               "set POOLRUN_REDIS_PASSWORD or use --password-file";
        return UV_EINVAL;
    }
    if (at != NULL) {
        if (at == a) {
            *why = "an empty user name before @";
            return UV_EINVAL;
        }
        u->user = pr_xmemdup(a, (size_t)(at - a));
        a = at + 1;
    }
    rc = host_port(a, path, u, why);
    if (rc == 0)
        rc = db_name(path, u, why);
    if (rc != 0)
        pr_rq_url_free(u);
    return rc;
}

void
pr_rq_url_free(struct pr_rq_url *u)
{
    free(u->user);
    free(u->host);
    free(u->name);
    u->user = u->host = u->name = NULL;
}
