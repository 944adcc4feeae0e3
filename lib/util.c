/*
 * util: the few helpers every module needs.  Allocation failure is fatal
 * (there is no sensible way to keep a process pool running without memory),
 * so the wrappers print one line and abort.
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

static void
oom(size_t n)
{
    fprintf(stderr, "poolrun: out of memory (allocating %zu bytes)\n", n);
    abort();
}

void *
pr_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        oom(n);
    return p;
}

void *
pr_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL)
        oom(n * size);
    return p;
}

void *
pr_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (q == NULL)
        oom(n);
    return q;
}

char *
pr_xstrdup(const char *s)
{
    return pr_xmemdup(s, strlen(s));
}

char *
pr_xmemdup(const void *p, size_t n)
{
    char *s = pr_xmalloc(n + 1);

    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

void
pr_buf_reserve(struct pr_buf *b, size_t extra)
{
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 256;

    if (need <= b->cap)
        return;
    while (cap < need)
        cap *= 2;
    b->data = pr_xrealloc(b->data, cap);
    b->cap = cap;
}

void
pr_buf_append(struct pr_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    pr_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void
pr_buf_free(struct pr_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

int
pr_tmpfile(void)
{
    const char *dir = getenv("TMPDIR");
    struct pr_buf path = {0};
    int fd;

    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    pr_buf_append(&path, dir, strlen(dir));
    pr_buf_append(&path, "/poolrun.XXXXXX", sizeof("/poolrun.XXXXXX"));
    fd = mkstemp(path.data);
    if (fd < 0) {
        fd = -errno;
    } else {
        /* Private: nobody else can open it, and it vanishes with us. */
        unlink(path.data);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    pr_buf_free(&path);
    return fd;
}

double
pr_wall_time(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
pr_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;

    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w >= 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            /* Someone else made the descriptor non-blocking: wait. */
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};

            if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
                return -errno;
            continue;
        }
        return -errno;
    }
    return 0;
}

int
pr_records_fresh_line(int fd, const char *path)
{
    struct stat st;
    char last;
    int rfd, rc = 0;

    if (fstat(fd, &st) != 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || st.st_size == 0)
        return 0;
    /* fd may be write-only: read the last byte through a descriptor of
     * our own.  A file we may not read we cannot check, and --resume could
     * not have read it either. */
    rfd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (rfd < 0)
        return 0;
    if (pread(rfd, &last, 1, st.st_size - 1) == 1 && last != '\n')
        rc = pr_write_all(fd, "\n", 1);
    close(rfd);
    return rc;
}

int
pr_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0')
        return UV_EINVAL;
    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end != '\0')
        return UV_EINVAL;
    if (errno == ERANGE || v < min || v > max)
        return UV_ERANGE;
    *out = v;
    return 0;
}

int
pr_parse_size(const char *s, uint64_t *out)
{
    static const char units[] = "kmgt";
    const char *u;
    double v, mult = 1;
    char *end;
    size_t digits, i, points = 0;

    /* Digits and one point only: strtod alone would take a sign, spaces,
     * hex, exponents, "inf" and "nan". */
    if (s == NULL)
        return UV_EINVAL;
    digits = strspn(s, "0123456789.");
    for (i = 0; i < digits; i++)
        points += s[i] == '.';
    if (digits == 0 || points > 1)
        return UV_EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (end != s + digits)
        return UV_EINVAL; /* "." alone */
    if (*end != '\0') {
        u = strchr(units, tolower((unsigned char)*end));
        if (u == NULL || end[1] != '\0')
            return UV_EINVAL;
        mult = (double)((uint64_t)1 << (10 * (u - units + 1)));
    }
    /* Compared as doubles first: 1e30 must not reach the conversion. */
    v *= mult;
    if (!(v >= 1) || v > (double)PR_SIZE_MAX)
        return UV_ERANGE;
    *out = (uint64_t)v;
    return 0;
}

int
pr_seconds_valid(double s)
{
    /* Written so that NaN fails both comparisons. */
    return s >= 0 && s <= PR_SECONDS_MAX;
}

uint64_t
pr_seconds_to_ms(double s)
{
    /* Converting a double out of uint64_t's range is undefined: clamp
     * first (a 1e20 s timeout once fired at once). */
    if (!(s > 0))
        return 0;
    if (s > PR_SECONDS_MAX)
        s = PR_SECONDS_MAX;
    return (uint64_t)(s * 1000 + 0.5);
}

int
pr_parse_seconds(const char *s, double *out)
{
    char *end;
    double v;

    if (s == NULL || *s == '\0')
        return UV_EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0' || isnan(v))
        return UV_EINVAL;
    if (errno == ERANGE || !pr_seconds_valid(v))
        return UV_ERANGE;
    *out = v;
    return 0;
}

static const struct {
    int sig;
    const char *name;
} signal_names[] = {
    {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},
    {SIGILL, "SIGILL"},   {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},
    {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
    {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
    {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
    {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"},
};

const char *
pr_err_text(int err)
{
    /* uv_strerror allocates the text of a code it does not know, once
     * per call: those are asked of strerror instead. */
    if (err == UV_EISDIR)
        return "is a directory"; /* libuv: "illegal operation on a ..." */
    switch (err) {
#define PR_KNOWN(code, text) case UV_##code:
        UV_ERRNO_MAP(PR_KNOWN)
#undef PR_KNOWN
        return uv_strerror(err);
    default:
        return strerror(-err);
    }
}

const char *
pr_signal_name(int sig)
{
    size_t i;

    for (i = 0; i < PR_ARRAY_SIZE(signal_names); i++)
        if (signal_names[i].sig == sig)
            return signal_names[i].name;
    return "signal";
}

int
pr_signal_number(const char *name)
{
    size_t i;
    long n;

    if (pr_parse_long(name, 1, 64, &n) == 0)
        return (int)n;
    if (strncasecmp(name, "SIG", 3) == 0)
        name += 3;
    for (i = 0; i < PR_ARRAY_SIZE(signal_names); i++)
        if (strcasecmp(signal_names[i].name + 3, name) == 0)
            return signal_names[i].sig;
    return -1;
}

/* Length of the valid UTF-8 sequence at p, or 0. */
size_t
pr_utf8_len(const unsigned char *p, size_t avail)
{
    size_t n, k;
    unsigned cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2, cp = p[0] & 0x1f;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3, cp = p[0] & 0x0f;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (n > avail)
        return 0;
    for (k = 1; k < n; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[k] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

void
pr_buf_vappendf(struct pr_buf *b, const char *fmt, va_list ap)
{
    char small[128];
    va_list again;
    int n;

    va_copy(again, ap);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    if (n < 0) {
        va_end(again);
        return;
    }
    if ((size_t)n < sizeof(small)) {
        pr_buf_append(b, small, (size_t)n);
    } else {
        pr_buf_reserve(b, (size_t)n + 1);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
}

uint64_t
pr_str_hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */

    while (*s != '\0') {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ULL;
    }
    return h;
}

void
pr_buf_appendf(struct pr_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pr_buf_vappendf(b, fmt, ap);
    va_end(ap);
}
