/* libFuzzer target: template expansion.  The input is split at NUL bytes:
 * the first part chooses options, the next parts are the command's words
 * (up to a '\x01' part), the rest are items.  Beyond not crashing, it
 * checks that shell quoting round-trips: unquoting what pr_shell_quote
 * made gives back the exact bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Undo single-quote shell quoting: '...' runs and \' between them. */
static size_t
unquote(const char *q, size_t n, char *out)
{
    size_t i = 0, o = 0;

    while (i < n) {
        if (q[i] == '\'') {
            i++;
            while (i < n && q[i] != '\'')
                out[o++] = q[i++];
            i++;
        } else if (q[i] == '\\' && i + 1 < n) {
            out[o++] = q[i + 1];
            i += 2;
        } else {
            out[o++] = q[i++];
        }
    }
    return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    char *parts[64];
    size_t nparts = 0;
    char *p;
    char *end;
    struct pr_template_options o;
    struct pr_template *t;
    struct pr_item items[16];
    unsigned nitems = 0;
    size_t i;
    int nwords = 0;

    memcpy(copy, data, size);
    copy[size] = '\0';
    end = copy + size;
    for (p = copy; p <= end && nparts < 64; p += strlen(p) + 1)
        parts[nparts++] = p;
    memset(&o, 0, sizeof(o));
    o.force_shell = nparts > 0 && (parts[0][0] & 1);
    o.replace = nparts > 0 && (parts[0][0] & 2) ? "XX" : NULL;
    o.words = parts + 1;
    for (i = 1; i < nparts && strcmp(parts[i], "\x01") != 0; i++)
        nwords++;
    o.nwords = nwords;
    for (i = (size_t)nwords + 2; i < nparts && nitems < 16; i++) {
        items[nitems].p = parts[i];
        items[nitems].len = strlen(parts[i]);
        nitems++;
    }
    t = pr_template_new(&o);
    if (t != NULL) {
        struct pr_task *task = pr_task_new_items(items, nitems);

        task->seq = 1;
        task->slot = 1;
        pr_template_expand(t, task);
        if (task->line == NULL)
            abort();
        pr_task_free(task);
        pr_template_free(t);
    }
    for (i = 0; i < nitems; i++) {
        struct pr_buf b = {0};
        char *back;
        size_t n;

        pr_shell_quote(&b, items[i].p, items[i].len);
        back = malloc(b.len + 1);
        n = unquote(b.data, b.len, back);
        if (n != items[i].len || memcmp(back, items[i].p, n) != 0)
            abort();
        free(back);
        pr_buf_free(&b);
    }
    free(copy);
    return 0;
}
