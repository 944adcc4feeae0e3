#!/usr/bin/env bats
# One final record per task, and the right one, whatever happens around
# it: a loop held up past a deadline, a retry that cannot start, a stop
# during --retry-delay, a stop caused by the record itself.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
}

# gone PID: the process no longer exists, not even as a zombie.
gone() {
    ! kill -0 "$1" 2>/dev/null
}

# zombie PID: the process has exited and nobody has reaped it yet.
zombie() {
    [[ $(ps -o stat= -p "$1" 2>/dev/null) == Z* ]]
}

# past MS FILE: at least MS milliseconds have gone by since FILE was made.
past() {
    local made now
    made=$(stat -c %.3Y "$2" | tr -d .)
    now=$(date +%s%3N)
    ((now - made >= $1))
}

@test "a task that exited before its deadline is not a timeout when poolrun wakes late" {
    "$POOLRUN" --timeout 0.5 --retries 1 --results r.jsonl --joblog log \
        'echo $$ > pid; until [ -e go ]; do sleep 0.01; done; echo ran {} >> side' \
        ::: 1 >out 2>err &
    pr=$!
    wait_for 10 test -s pid
    touch started
    # poolrun is held up (as by Ctrl-Z) while the task ends, and until its
    # deadline has passed.
    kill -STOP "$pr"
    touch go
    wait_for 10 zombie "$(cat pid)"
    wait_for 10 past 700 started
    kill -CONT "$pr"
    wait_status "$pr" 0
    [ "$(cat side)" = 'ran 1' ]
    [ "$(jq -c '[.status, .exit, .attempt, .final]' r.jsonl)" = '["ok",0,1,true]' ]
    [ "$(joblog_rows log | cut -f7)" = 0 ]
}

@test "a retry that cannot start for lack of descriptors keeps its failed attempt as the final record" {
    # Task 1 spills its output to a file (one more descriptor), then task 2
    # fails; with the descriptor limit just right its retry cannot start
    # while task 1 runs.  The right limit depends on the build, so find it.
    hit=0
    for n in $(seq 14 40); do
        rm -f spilled release r.jsonl log err t2.runs
        (
            for fd in /proc/$BASHPID/fd/*; do
                fd=${fd##*/}
                if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
            done
            ulimit -n "$n"
            exec "$POOLRUN" -j 2 --buffer-size 1M --retries 1 \
                --results r.jsonl --joblog log ::: \
                'head -c 3000000 /dev/zero; touch spilled; until [ -e release ]; do sleep 0.01; done' \
                'until [ -e spilled ]; do sleep 0.01; done; echo >> t2.runs; echo attempt output; exit 3'
        ) >/dev/null 2>err &
        pr=$!
        wait_for 20 grep -qE 'cannot start another task|task 2 .*exit status 3|task 1: cannot start' err
        # Not when task 2 could not start even once (the limit is lower).
        if grep -q 'cannot start another task' err && [ -e t2.runs ]; then
            hit=1
            kill -INT "$pr"
            wait_status "$pr" 130
            # One record of task 2: its one attempt, failed, exit 3.
            [ "$(jq -c 'select(.seq == 2) | [.status, .exit, .attempt, .final]' r.jsonl)" = '["failed",3,1,true]' ]
            [ "$(jq -r 'select(.seq == 2) | .stdout' r.jsonl)" = 'attempt output' ]
            [ "$(joblog_rows log | awk -F'\t' '$1 == 2 {print $7}')" = 3 ]
            break
        fi
        touch release
        wait "$pr" || true
    done
    [ "$hit" = 1 ]
}

@test "SIGTERM during --retry-delay records the attempt once, final, and prints its output" {
    "$POOLRUN" --retries 1 --retry-delay 60 --results r.jsonl --joblog log \
        'echo $$ > pid; echo attempt output; exit 3' ::: 1 >out 2>err &
    pr=$!
    wait_for 10 test -s pid
    wait_for 10 gone "$(cat pid)"
    kill -TERM "$pr"
    wait_status "$pr" 143
    [ "$(jq -s length r.jsonl)" = 1 ]
    [ "$(jq -c '[.status, .exit, .attempt, .final]' r.jsonl)" = '["failed",3,1,true]' ]
    [ "$(jq -r .stdout r.jsonl)" = 'attempt output' ]
    [ "$(cat out)" = 'attempt output' ]
    [ "$(joblog_rows log | cut -f7)" = 3 ]
}

@test "SIGHUP during --retry-delay ends the wait with the attempt as the final record" {
    "$POOLRUN" --retries 1 --retry-delay 60 --results r.jsonl \
        'echo $$ > pid; echo attempt output; exit 3' ::: 1 >out 2>err &
    pr=$!
    wait_for 10 test -s pid
    wait_for 10 gone "$(cat pid)"
    kill -HUP "$pr"
    wait_status "$pr" 129
    [ "$(jq -c '[.status, .exit, .attempt, .final]' r.jsonl)" = '["failed",3,1,true]' ]
    [ "$(cat out)" = 'attempt output' ]
}

@test "a callback made before its task's output failed is not started after the stop" {
    status=0
    poolrun --on-done 'touch cb.$POOLRUN_SEQ' 'echo {}' ::: 1 >/dev/full 2>err ||
        status=$?
    [ "$status" -eq 255 ]
    grep -q 'writing standard output' err
    [ ! -e cb.1 ]
}

@test "a worker that closes its stdout but stays alive is ended, and its task fails" {
    run --separate-stderr timeout -s KILL 20 "$POOLRUN" -j 1 \
        --workers 'echo $$ > wpid; exec >&-; sleep 1000' ::: a
    [ "$status" -eq 1 ]
    [[ $stderr == *"task 1, pid "*": the worker closed its standard output: a"* ]]
    not_alive "$(cat wpid)"
}

@test "a worker killed by a signal of its own is still reported as killed, not as closing its stdout" {
    run --separate-stderr "$POOLRUN" -j 1 \
        --workers 'read x; kill -KILL $$' ::: a
    [ "$status" -eq 1 ]
    [[ $stderr == *"task 1, pid "*": killed by signal 9 (SIGKILL): a"* ]]
}

@test "a process that escaped a dead worker's group holds the run only for --kill-after" {
    run --separate-stderr timeout -s KILL 20 "$POOLRUN" --kill-after 0.3 -j 1 \
        --workers 'setsid sleep 1000 & echo $! > gc; read x; echo "got $x"; exec 1>&- 2>&-; sleep 0.05' ::: a
    [ "$status" -eq 0 ]
    [ "$output" = "got a" ]
    [[ $stderr == *"1 process had left its task's process group"* ]]
    not_alive "$(cat gc)"
}

# ended PID...: each process is gone or a zombie (it has run its course;
# whoever reaps it is no concern of poolrun's once poolrun is dead).
ended() {
    local p s
    for p in "$@"; do
        s=$(ps -o stat= -p "$p" 2>/dev/null) || continue
        [[ $s == Z* ]] || return 1
    done
}

@test "kill -9 of poolrun ends its tasks and what they started, so --resume-failed runs each once" {
    "$POOLRUN" -j 2 --joblog jk \
        'echo $$ >> pids; sleep 100 & echo $! >> kids; wait; echo {} >> side' \
        ::: a b c d 2>err &
    pr=$!
    wait_for 10 joblog_has_rows pids 1
    wait_for 10 test "$(wc -l < kids 2>/dev/null || echo 0)" -ge 2
    kill -9 "$pr"
    wait "$pr" || true
    wait_for 10 ended $(cat pids kids)
    run -0 --separate-stderr poolrun -j 2 --joblog jk --resume-failed \
        'echo {} >> side' ::: a b c d
    [ "$(sort side | tr '\n' ' ')" = 'a b c d ' ]
}

@test "after kill -9 of poolrun a task's child that ignores SIGTERM gets SIGKILL after --kill-after" {
    "$POOLRUN" --kill-after 0.3 \
        'trap "" TERM; sleep 100 & echo $! >> kids; wait' ::: 1 2>err &
    pr=$!
    wait_for 10 test -s kids
    kill -9 "$pr"
    wait "$pr" || true
    wait_for 10 ended $(cat kids)
}

@test "the guardian holds none of poolrun's descriptors: a reader of its output sees the end when poolrun is killed" {
    mkfifo out
    cat out >copy &
    reader=$!
    "$POOLRUN" 'echo started; echo $$ > pid; sleep 100' ::: 1 >out 2>err &
    pr=$!
    wait_for 10 test -s pid
    kill -9 "$pr"
    wait "$pr" || true
    wait_status "$reader" 0
    wait_for 10 ended "$(cat pid)"
}

# guard_of PID: the pid of poolrun PID's guardian, if it has one.
guard_of() {
    ps --ppid "$1" -o pid=,comm= | awk '$2 == "poolrun-guard" {print $1}'
}

has_guard() {
    [ -n "$(guard_of "$1")" ]
}

@test "after a normal run the guardian is gone" {
    "$POOLRUN" 'until [ -e go ]; do sleep 0.01; done; echo {}' ::: 1 >out &
    pr=$!
    wait_for 10 has_guard "$pr"
    guard=$(guard_of "$pr")
    touch go
    wait_status "$pr" 0
    gone "$guard"
}
