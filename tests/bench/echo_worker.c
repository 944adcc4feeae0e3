/* echo_worker: the trivial worker of poolrun's benchmark.  Answers each
 * line with itself, writing all the answers a read brings in one write. */
#include <string.h>
#include <unistd.h>

int
main(void)
{
    static char in[65536 + 1];
    size_t have = 0;

    for (;;) {
        ssize_t n = read(0, in + have, sizeof(in) - 1 - have);
        size_t start = 0, end;

        if (n <= 0)
            return 0;
        have += (size_t)n;
        for (end = have; end > 0 && in[end - 1] != '\n'; end--)
            ;
        if (end > 0) {
            size_t off = 0;

            while (off < end) {
                ssize_t w = write(1, in + off, end - off);

                if (w <= 0)
                    return 1;
                off += (size_t)w;
            }
            start = end;
        }
        memmove(in, in + start, have - start);
        have -= start;
    }
}
