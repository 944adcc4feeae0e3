/*
 * floor: the raw limit for poolrun's benchmark.  Runs a command N times,
 * J at a time, with posix_spawn and waitpid and nothing else: no pipes, no
 * output capture, no event loop.  Usage: floor N J COMMAND [ARG...]
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

extern char **environ;

int
main(int argc, char **argv)
{
    long n, j, started = 0, running = 0, failed = 0;

    if (argc < 4) {
        fprintf(stderr, "usage: floor N J COMMAND [ARG...]\n");
        return 2;
    }
    n = strtol(argv[1], NULL, 10);
    j = strtol(argv[2], NULL, 10);
    while (started < n || running > 0) {
        int status;

        while (started < n && running < j) {
            pid_t pid;

            if (posix_spawnp(&pid, argv[3], NULL, NULL, argv + 3, environ) !=
                0) {
                perror("posix_spawnp");
                return 1;
            }
            started++;
            running++;
        }
        if (wait(&status) > 0) {
            running--;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                failed++;
        }
    }
    return failed ? 1 : 0;
}
