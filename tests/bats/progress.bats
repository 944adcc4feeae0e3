#!/usr/bin/env bats
# Progress, the closing summary, and throttling (--delay, --memfree, --load).
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
    held=""
}

# A poolrun a test left waiting in the background (a failed assertion
# must not leave it holding the test's output open).
teardown() {
    if [ -n "$held" ] && alive "$held"; then
        kill -9 "$held"
    fi
}

# ticks PID: the clock ticks of user and system time PID has used so far.
ticks() {
    awk '{print $14 + $15}' "/proc/$1/stat"
}

# reads PID: how many read system calls PID has made so far.
reads() {
    awk '$1 == "syscr:" {print $2}' "/proc/$1/io"
}

# reads_at_least PID N
reads_at_least() {
    [ "$(reads "$1")" -ge "$2" ]
}

@test "--progress prints a plain line per finished task on stderr, nothing on stdout" {
    printf 'echo out%s\n' 1 2 3 >lines
    run -0 --separate-stderr poolrun -j 1 --progress <lines
    [ "$output" = "$(printf 'out1\nout2\nout3')" ]
    [ "$(grep -c '^poolrun: [0-9/]* done, ' <<<"$stderr")" -eq 3 ]
    # The last line knows the total and counts every task.
    [[ $(grep 'done' <<<"$stderr" | tail -1) == "poolrun: 3/3 done, 0 running, 0 failed, "*"/s, ETA 0:00" ]]
}

@test "--progress counts failures" {
    run --separate-stderr poolrun -j 1 --progress sh -c 'exit $0' ::: 0 3
    [ "$status" -eq 1 ]
    [[ $stderr == *"poolrun: 2/2 done, 0 running, 1 failed"* ]]
}

@test "--progress redraws one line in place on a terminal and ends it with a newline" {
    command -v script >/dev/null || skip "script(1) is not installed"
    run -0 script -qec "printf 'sleep 0.3\ntrue\n' | $POOLRUN --progress -j 2 2>&1 >/dev/null" /dev/null
    # Drawn with carriage return and erase-line, never one line per task.
    [[ $output == *$'\r\e[Kpoolrun: 2/2 done, 0 running, 0 failed'* ]]
    [ "$(tr -cd '\n' <<<"$output" | wc -c)" -le 2 ]
}

@test "--bar steps aside for task output on the terminal" {
    command -v script >/dev/null || skip "script(1) is not installed"
    # The task prints only once the bar is on the terminal.
    script -qec "printf 'until [ -e go ]; do sleep 0.01; done; echo late\n' | $POOLRUN --bar" /dev/null >out &
    pid=$!
    wait_for 20 grep -q ' 0/1 done' out
    touch go
    wait_status "$pid" 0
    # The output starts on a cleared line, not after the bar's text.
    [[ $(cat out) == *$'\r\e[Klate'* ]]
}

@test "the summary names the slowest tasks" {
    # The four start in order, at once.  Task 2 ends only after tasks 3 and
    # 4 have their rows in the job log, task 1 only after task 2: whatever
    # the load, task 1 ran longest and task 2 next.
    printf '%s\n' 'until [ "$(wc -l < log)" -ge 4 ]; do sleep 0.01; done; echo one' \
        'until [ "$(wc -l < log)" -ge 3 ]; do sleep 0.01; done; echo two' 'true' 'exit 1' >lines
    run --separate-stderr poolrun -j 4 --joblog log <lines
    [ "$status" -eq 1 ]
    [[ $stderr == *"poolrun: slowest: task 1 ("*" s): until "*"; echo one"* ]]
    [[ $(grep -A1 slowest <<<"$stderr" | tail -1) == "poolrun:          task 2 ("*" s): until "*"; echo two" ]]
}

@test "the slowest tasks leave out one that poolrun itself killed" {
    # Task 1 runs until --halt kills it, when task 2 has failed: it ran
    # longest, but only as long as poolrun let it.
    printf '%s\n' 'touch started; exec sleep 30' \
        'until [ -e started ]; do sleep 0.01; done; exit 1' >lines
    run -1 --separate-stderr poolrun -j 2 --summary --halt now,fail=1 <lines
    [[ $stderr == *"poolrun: slowest: task 2 ("* ]]
    [[ $stderr != *"task 1 ("*" s): touch started"* ]]
}

@test "--delay spaces task starts at least SECS apart" {
    run -0 --separate-stderr poolrun -j 3 --delay 0.2 --joblog log true ::: 1 2 3
    [ "$(joblog_rows log | wc -l)" -eq 3 ]
    # Start times as poolrun took them, in milliseconds.
    joblog_rows log | cut -f3 | sort -n |
        awk 'NR > 1 && $1 - prev < 0.1995 {bad = 1} {prev = $1} END {exit bad}'
}

@test "--memfree holds tasks back while memory is short, and re-checks on a timer" {
    # No machine here has a terabyte free: nothing may start.  SIGHUP then
    # drains, and the held task is skipped.
    "$POOLRUN" --memfree 1024G --summary touch ran ::: x >out 2>err 3>&- &
    pid=$!
    held=$pid
    # Asserting that nothing happens takes time: let three re-checks pass
    # (they come every 250 ms).  Once poolrun waits on its loop, each is
    # the one read of /proc/meminfo it makes; nothing else reads.
    wait_for 20 grep -q do_epoll_wait "/proc/$pid/wchan"
    base=$(reads "$pid")
    cpu=$(ticks "$pid")
    wait_for 20 reads_at_least "$pid" $((base + 3))
    [ ! -e ran ]
    alive "$pid"
    # Waiting is not a busy loop: over those three re-checks (at least
    # 0.75 s) poolrun used almost no CPU, in clock ticks of user and
    # system time; a busy loop would use about 75.  Only the wait counts:
    # starting up (slow under ASan) is not part of it.
    [ "$(($(ticks "$pid") - cpu))" -lt 10 ]
    kill -HUP "$pid"
    wait_status "$pid" 129
    grep -qx 'poolrun: 1 task: 1 skipped' err
}

@test "--memfree and --load let tasks run when there is room" {
    run -0 poolrun --memfree 1K --load 100000 echo ::: ok
    [ "$output" = ok ]
}

@test "bad throttling values are named" {
    run poolrun --load 0 true
    [ "$status" -eq 255 ]
    [[ $output == *"--load: '0' is not a load average above 0"* ]]
    run poolrun --memfree lots true
    [ "$status" -eq 255 ]
    [[ $output == *"--memfree: 'lots' is not a size"* ]]
    run poolrun --delay -1 true
    [ "$status" -eq 255 ]
}
