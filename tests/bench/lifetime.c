/* A task for tests/bench/slots: sleeps one second and prints its item
 * with the wall-clock times (CLOCK_REALTIME, seconds) at which its main()
 * began and at which it is about to exit.  Against the runner's joblog
 * these split a recorded runtime into the task's own life, the time
 * before its main() ran (the spawn, exec, the dynamic loader and any wait
 * for a CPU) and the time after it exited until the runner saw it. */
#include <stdio.h>
#include <time.h>

static double
wall(void)
{
    struct timespec t;

    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
    double began = wall();
    struct timespec one = {1, 0};

    while (nanosleep(&one, &one) != 0)
        ;
    printf("%s %.6f %.6f\n", argc > 1 ? argv[1] : "-", began, wall());
    return 0;
}
