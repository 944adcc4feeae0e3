#!/usr/bin/env bats
# Signals and clean-up: nothing poolrun started outlives it.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
}


# No signal waits to be handled by process $1.
signal_taken() {
    awk '/^(SigPnd|ShdPnd):/ && $2 !~ /^0+$/ {busy = 1} END {exit busy}' "/proc/$1/status"
}

@test "SIGINT stops running tasks, skips queued ones and exits 130" {
    printf 'echo $$ > pid.$POOLRUN_SEQ; exec sleep 1000\n%.0s' 1 2 3 >lines
    "$POOLRUN" -j 2 --joblog log <lines >out 2>err &
    pid=$!
    wait_for 20 all_exist pid.1 pid.2
    kill -INT "$pid"
    wait_status "$pid" 130
    [ ! -e pid.3 ]
    # Every task has one final record: two killed, one never started.
    grep -qx 'poolrun: 3 tasks: 2 killed, 1 skipped' err
    [ "$(joblog_rows log | wc -l)" -eq 2 ]
    [ "$(joblog_rows log | cut -f8 | sort -u)" = 2 ]
    not_alive "$(cat pid.1)"
    not_alive "$(cat pid.2)"
}

@test "a second SIGINT sends SIGKILL to tasks that ignore the first" {
    echo 'trap "" INT; echo $$ > pid; touch ready; while :; do sleep 0.05; done' >lines
    "$POOLRUN" --kill-after 1000 --joblog log <lines >out 2>err &
    pid=$!
    wait_for 20 all_exist ready
    kill -INT "$pid"
    wait_for 20 signal_taken "$pid"
    kill -INT "$pid"
    wait_status "$pid" 130
    [ "$(joblog_rows log | cut -f8)" = 9 ]
    wait_for 5 not_alive "$(cat pid)"
}

@test "SIGTERM escalates to SIGKILL after --kill-after for a task that ignores it" {
    echo 'trap "" TERM; echo $$ > pid; touch ready; while :; do sleep 0.05; done' >lines
    "$POOLRUN" --kill-after 0.2 --joblog log <lines >out 2>err &
    pid=$!
    wait_for 20 all_exist ready
    kill -TERM "$pid"
    wait_status "$pid" 143
    [ "$(joblog_rows log | cut -f8)" = 9 ]
    wait_for 5 not_alive "$(cat pid)"
}

@test "SIGHUP drains: running tasks finish, nothing new starts, exit 129" {
    mkfifo gate
    printf '%s\n' 'touch started; read x < gate; echo finished' 'touch ran2' >lines
    "$POOLRUN" -j 1 --joblog log <lines >out 2>err &
    pid=$!
    wait_for 20 all_exist started
    kill -HUP "$pid"
    wait_for 20 signal_taken "$pid"
    echo go >gate
    wait_status "$pid" 129
    [ "$(cat out)" = finished ]
    [ ! -e ran2 ]
    [ "$(joblog_rows log | wc -l)" -eq 1 ]
    grep -qx 'poolrun: 2 tasks: 1 ok, 1 skipped' err
}

@test "a background child that holds the task's stdout is ended with the task" {
    echo 'echo start; sleep 1000 & echo $! > bg.pid; echo end' >lines
    run -0 poolrun <lines
    [ "$output" = $'start\nend' ]
    not_alive "$(cat bg.pid)"
}

@test "a background child with its own output is ended with the task" {
    echo 'sleep 1000 >/dev/null 2>&1 & echo $! > bg.pid' >lines
    run -0 poolrun <lines
    not_alive "$(cat bg.pid)"
}

@test "a background child that ignores SIGTERM gets SIGKILL after the grace" {
    echo '(trap "" TERM; exec sleep 1000) >/dev/null 2>&1 & echo $! > bg.pid; echo done' >lines
    run -0 poolrun --kill-after 0.2 <lines
    [ "$output" = done ]
    wait_for 5 not_alive "$(cat bg.pid)"
}

@test "output a background child wrote before the task ended is kept" {
    mkfifo g
    echo '(echo from-child; echo go > g; exec sleep 1000) & read x < g; echo from-parent' >lines
    run -0 poolrun <lines
    [[ $output == *from-parent* && $output == *from-child* ]]
}

@test "a stopped background child is continued so that SIGTERM ends it" {
    echo 'sleep 1000 >/dev/null 2>&1 & echo $! > bg.pid; kill -STOP $!' >lines
    run -0 poolrun --kill-after 1000 <lines
    not_alive "$(cat bg.pid)"
}

@test "a process that escapes its task's group (setsid) is ended when the run ends" {
    command -v setsid >/dev/null || skip "setsid(1) is not installed"
    # The task starts a new session in the background and exits at once.
    echo "setsid -f sh -c 'echo \$\$ > escaped; exec sleep 1000'; until [ -s escaped ]; do sleep 0.01; done" >lines
    run -0 --separate-stderr poolrun <lines
    [[ $stderr == *"1 process had left its task's process group and still ran at the end: ended"* ]]
    not_alive "$(cat escaped)"
}

@test "an escaped process that ignores SIGTERM gets SIGKILL after the grace" {
    command -v setsid >/dev/null || skip "setsid(1) is not installed"
    echo "setsid -f sh -c 'trap \"\" TERM; echo \$\$ > escaped; while :; do sleep 0.05; done'; until [ -s escaped ]; do sleep 0.01; done" >lines
    run -0 --separate-stderr poolrun --kill-after 0.2 <lines
    not_alive "$(cat escaped)"
}
