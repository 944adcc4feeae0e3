/* libFuzzer target: the job-file parser and the JSON Lines parser must
 * refuse or accept any bytes without crashing, leaking or overrunning, and
 * every refusal must say something. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "source_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pr_jobfile jf;
    struct pr_diag d;
    struct pr_task *task = NULL;

    d.msg[0] = '\0';
    pr_jobfile_init(&jf);
    if (pr_jobfile_load_mem(&jf, "fuzz.json", (const char *)data, size, "/tmp",
                            &d) != 0 &&
        d.msg[0] == '\0')
        abort();
    if (pr_jobfile_check_ids(&jf, &d) != 0 && d.msg[0] == '\0')
        abort();
    pr_jobfile_free(&jf);
    d.msg[0] = '\0';
    if (pr_jobline_parse("<fuzz>", 1, (const char *)data, size, &task, &d) ==
        0)
        pr_task_free(task);
    else if (d.msg[0] == '\0')
        abort();
    return 0;
}
