#include <stdio.h>

int
main(void)
{
    puts("hello from a tiny CI build");
    return 0;
}
