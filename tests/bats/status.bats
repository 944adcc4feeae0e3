#!/usr/bin/env bats
# Live status: SIGUSR1 lists the running tasks and the counts on stderr,
# and `poolrun status` shows the same lines for the queue service.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
    held=""
}

# A poolrun a test left waiting (a failed assertion) must not hold the
# test's output open.
teardown() {
    if [ -n "$held" ] && alive "$held"; then
        kill -9 "$held"
    fi
    if [ -n "${server:-}" ] && alive "$server"; then
        "$POOLRUN" shutdown >/dev/null 2>&1 || true
        wait_for 10 not_alive "$server" || kill -9 "$server"
    fi
}

# status_has FILE LINE-PATTERN: FILE has a line matching the extended
# regular expression.
status_has() {
    grep -Eq -- "$2" "$1"
}

# usr1_handled PID: PID ignores or catches SIGUSR1 (bit 10 of its masks),
# so a SIGUSR1 no longer kills it.
usr1_handled() {
    local ign cgt
    ign=$(awk '$1 == "SigIgn:" {print $2}' "/proc/$1/status") || return 1
    cgt=$(awk '$1 == "SigCgt:" {print $2}' "/proc/$1/status") || return 1
    (((0x$ign | 0x$cgt) & 0x200))
}

# usr1_safe PID: usr1_handled, or PID has already ended (a zombie's masks
# are empty, and bash reaps its children as they end).
usr1_safe() {
    local state
    read -r _ _ state _ 2>/dev/null <"/proc/$1/stat" || return 0
    [ "$state" = Z ] || usr1_handled "$1"
}

# A task held on its own fifo: it writes "PID SLOT" to pid.N first.
held_task='echo $$ $POOLRUN_SLOT >pid.$1; cat gate.$1 >/dev/null; echo out $1'

@test "SIGUSR1 lists each running task's seq, pid, slot and command, and the counts, on stderr" {
    mkfifo gate.1 gate.2 gate.3
    "$POOLRUN" -j 2 -k sh -c "$held_task" sh ::: 1 2 3 >out 2>err &
    held=$!
    wait_for 20 all_exist pid.1 pid.2
    kill -USR1 "$held"
    wait_for 20 status_has err '^poolrun: running - \(seq 2,'
    read -r pid1 slot1 <pid.1
    read -r pid2 slot2 <pid.2
    [ "$(wc -l <err)" -eq 3 ]
    [ "$(sed -n 1p err)" = "poolrun: status: 0 done (0 ok, 0 failed), 2 running, 1 queued" ]
    [[ "$(sed -n 2p err)" == "poolrun: running - (seq 1, pid $pid1, slot $slot1, "*" s): sh -c '$held_task' sh 1" ]]
    [[ "$(sed -n 3p err)" == "poolrun: running - (seq 2, pid $pid2, slot $slot2, "*" s): sh -c '$held_task' sh 2" ]]
    echo go >gate.1
    echo go >gate.2
    echo go >gate.3
    wait_status "$held" 0
    [ "$(cat out)" = "$(printf 'out 1\nout 2\nout 3')" ]
    # Nothing more on stderr than the status asked for.
    [ "$(wc -l <err)" -eq 3 ]
}

@test "SIGUSR1 shows a command with a newline and control bytes escaped on one line" {
    mkfifo gate
    printf '%s\0' "$(printf 'echo $$ >pid; cat gate >/dev/null; echo "a\nb\tc\\\\d"')" >tasks
    "$POOLRUN" -0 <tasks >out 2>err &
    held=$!
    wait_for 20 all_exist pid
    kill -USR1 "$held"
    wait_for 20 status_has err '^poolrun: running '
    [ "$(wc -l <err)" -eq 2 ]
    [[ "$(sed -n 2p err)" == "poolrun: running - (seq 1, pid $(cat pid), slot 1, "*' s): echo $$ >pid; cat gate >/dev/null; echo "a\nb\tc\\\\d"' ]]
    echo go >gate
    wait_status "$held" 0
    [ "$(cat out)" = "$(printf 'a\nb\tc\\d')" ]
}

@test "SIGUSR1 with --workers shows the worker's pid and the item it was sent" {
    mkfifo gate
    cat >w.sh <<'EOF'
echo $$ >wpid
while IFS= read -r x; do
    touch got
    cat gate >/dev/null
    printf 'got %s\n' "$x"
done
EOF
    "$POOLRUN" -j 1 --workers 'exec sh w.sh' ::: 'a b' >out 2>err &
    held=$!
    wait_for 20 all_exist got
    kill -USR1 "$held"
    wait_for 20 status_has err '^poolrun: running '
    [ "$(sed -n 1p err)" = "poolrun: status: 0 done (0 ok, 0 failed), 1 running, 0 queued" ]
    [[ "$(sed -n 2p err)" =~ ^"poolrun: running - (seq 1, worker $(cat wpid), slot 1, "[0-9]+\.[0-9]" s): item: a b"$ ]]
    echo go >gate
    wait_status "$held" 0
    [ "$(cat out)" = "got a b" ]
}

@test "SIGUSR1 names a job file's task by its id" {
    mkfifo gate
    echo '{"tasks": [{"id": "build", "cmd": "echo $$ >pid; cat gate >/dev/null"}]}' >jobs.json
    "$POOLRUN" -f jobs.json >out 2>err &
    held=$!
    wait_for 20 all_exist pid
    kill -USR1 "$held"
    wait_for 20 status_has err '^poolrun: running '
    [[ "$(sed -n 2p err)" == "poolrun: running build (seq 1, pid $(cat pid), slot 1, "* ]]
    echo go >gate
    wait_status "$held" 0
}

@test "SIGUSR1 lists a job file's running service and the callback that runs, after the tasks" {
    mkfifo gate cbgate
    cat >jobs.json <<'JSON'
{"tasks": [{"id": "db", "cmd": "echo $$ >dbpid; exec sleep 100", "daemon": true},
           {"id": "t1", "cmd": "echo $$ >pid; cat gate >/dev/null; exit 3"}]}
JSON
    "$POOLRUN" -f jobs.json --on-fail 'echo $$ >cbpid; cat cbgate >/dev/null' >out 2>err &
    held=$!
    wait_for 20 all_exist pid dbpid
    kill -USR1 "$held"
    wait_for 20 status_has err '^poolrun: service '
    [ "$(wc -l <err)" -eq 3 ]
    [[ "$(sed -n 2p err)" == "poolrun: running t1 (seq 1, pid $(cat pid), slot 1, "* ]]
    [[ "$(sed -n 3p err)" == "poolrun: service db (pid $(cat dbpid), "*' s): echo $$ >dbpid; exec sleep 100' ]]
    echo go >gate
    wait_for 20 all_exist cbpid
    kill -USR1 "$held"
    wait_for 20 status_has err '^poolrun: callback '
    run -0 grep -c '^poolrun: status: 1 done (0 ok, 1 failed), 0 running, 0 queued$' err
    [[ "$(tail -n 1 err)" == "poolrun: callback on_fail of seq 1 (pid $(cat cbpid), "*' s): echo $$ >cbpid; cat cbgate >/dev/null' ]]
    echo go >cbgate
    wait_status "$held" 1
}

@test "a burst of SIGUSR1 leaves the run's output and exit status as they were" {
    mkfifo gate.1 gate.2
    "$POOLRUN" -j 2 -k sh -c "$held_task" sh ::: 1 2 >out 2>err &
    held=$!
    wait_for 20 all_exist pid.1 pid.2
    for _ in $(seq 200); do kill -USR1 "$held"; done
    wait_for 20 status_has err '^poolrun: status: '
    echo go >gate.1
    echo go >gate.2
    wait_status "$held" 0
    [ "$(cat out)" = "$(printf 'out 1\nout 2')" ]
    # Only whole status reports on stderr, each of three lines.
    [ "$(grep -cv '^poolrun: \(status: \|running - (seq [12], \)' err)" -eq 0 ]
    [ "$(($(wc -l <err) % 3))" -eq 0 ]
}

# usr1_storm N: one run of poolrun sent SIGUSR1 without pause from when it
# has set SIGUSR1 aside (at the top of main) until it has exited, past the
# handler's close; its output and status must be as without.
usr1_storm() {
    local held sender state
    "$POOLRUN" -j 2 -k --summary --on-join 'echo joined >&2' sh -c 'echo $1' sh <items >out 2>err &
    held=$!
    wait_for 20 usr1_safe "$held" || return 1
    # Builtins only, to send as fast as the shell can; a zombie has ended.
    while read -r _ _ state _ 2>/dev/null <"/proc/$held/stat" && [ "$state" != Z ]; do
        kill -USR1 "$held" 2>/dev/null || break
    done &
    sender=$!
    wait_status "$held" 0 || return 1
    wait "$sender" || true
    [ "$(cat out)" = "$(seq 1 20)" ] || return 1
    grep -qx joined err
}

@test "SIGUSR1 from the start of a run to its end never kills poolrun" {
    seq 1 20 >items
    # The end, after the handler has closed, is short: a few runs.
    for _ in 1 2 3 4; do
        usr1_storm
    done
}

@test "SIGUSR1 while poolrun waits for its input shows the counts and no task" {
    mkfifo input
    "$POOLRUN" echo <input >out 2>err &
    held=$!
    exec 7>input
    wait_for 20 usr1_handled "$held"
    kill -USR1 "$held"
    wait_for 20 status_has err '^poolrun: status: '
    echo x >&7
    exec 7>&-
    wait_status "$held" 0
    [ "$(cat out)" = x ]
    [ "$(cat err)" = "poolrun: status: 0 done (0 ok, 0 failed), 0 running, 0 queued" ]
}

@test "poolrun status shows a server's running task with the same line and counts" {
    export XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
    export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
    mkdir -m 700 "$XDG_RUNTIME_DIR"
    "$POOLRUN" serve -j 2 >serve.out 2>&1 &
    server=$!
    wait_for 10 serving "$server"
    mkfifo gate
    run -0 poolrun submit true
    run -0 poolrun submit false
    run -1 poolrun wait 1 2
    run -0 poolrun submit --id held sh -c 'echo $$ >pid; cat gate >/dev/null'
    wait_for 20 all_exist pid
    run -0 poolrun status
    [ "${lines[0]}" = "queue default: -j 2, 1 unfinished, 2 done (1 ok, 1 failed), 1 running, 0 queued" ]
    [[ "${lines[1]}" =~ ^"  running held (seq 3, pid $(cat pid), slot 1, "[0-9]+\.[0-9]" s): sh -c 'echo \$\$ >pid; cat gate >/dev/null'"$ ]]
    run -0 poolrun status --json
    [ "$(jq -c '.queues[0].running[0] | [.id, .seq, .slot]' <<<"$output")" = '["held",3,1]' ]
    [ "$(jq -c '.queues[0].counts | [.ok, .failed, .skipped]' <<<"$output")" = '[1,1,0]' ]
    [ "$(jq -c '.queues[0] | [.ok, .failed, .queued, .retrying]' <<<"$output")" = '[1,1,0,0]' ]
    echo go >gate
    # join's status counts the task that failed.
    run -1 poolrun join
}
