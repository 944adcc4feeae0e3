#!/usr/bin/env bats
# poolrun serve and its clients: submit, status, join, wait, shutdown.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    load serve_helpers
    serve_setup
    peer_dir=""
}

teardown() {
    serve_teardown
    if [ -n "${peer_dir:-}" ]; then
        rm -rf "$peer_dir"
    fi
}


@test "submit starts the service on demand and prints the task's id at once" {
    run -0 poolrun submit true
    [ "$output" = "1" ]
    run -0 poolrun wait 1
    pid=$(service_pid)
    alive "$pid"
}

@test "the man page's queue service example runs as documented" {
    man_examples >examples
    PATH="$(dirname "$POOLRUN"):$PATH"
    # Example 6: the ids, then what the second task printed, then join's 0.
    run -0 --separate-stderr bash -c "$(sed -n '12,15p' examples)"
    [ "$output" = $'build\nbuilt\n0' ]
    [ -z "$stderr" ]
    # shutdown --drain ends the service the first submit started (it
    # answers first, then goes).
    wait_for 10 test ! -e "$sock"
}

@test "submit --wait prints the task's output and exits with its status, as running it would" {
    run -3 --separate-stderr poolrun submit --wait sh -c 'echo to out; echo to err >&2; exit 3'
    [ "$output" = "to out" ]
    [ "$stderr" = "to err" ]
}

@test "a task runs in the submitter's folder with the submitter's environment" {
    mkdir here
    cd here
    MY_VAR='a b $c' run -0 poolrun submit --wait sh -c 'pwd > out; printf %s "$MY_VAR" >> out'
    [ "$(head -n 1 out)" = "$BATS_TEST_TMPDIR/here" ]
    [ "$(tail -n 1 out)" = 'a b $c' ]
}

@test "a variable the service has but the submitter does not is not passed on" {
    start_service
    run -0 env -u HOME "$POOLRUN" submit --wait sh -c 'printf "[%s]" "${HOME-unset}" > home'
    [ "$(cat home)" = "[unset]" ]
}

@test "bulk submit takes one task per line; join waits for all and counts failures" {
    start_service -j 3
    printf 'echo a > a\nexit 1\necho c > c\nexit 2\n' >lines
    run -0 poolrun submit <lines
    [ "${#lines[@]}" -eq 4 ]
    run -2 poolrun join
    all_exist a c
}

@test "join --timeout gives 124 and cancels nothing" {
    start_service
    mkfifo gate
    run -0 poolrun submit sh -c 'cat gate > /dev/null; echo done > done'
    run -124 poolrun join --timeout 0.2
    [ ! -e done ]
    echo go >gate
    run -0 poolrun join
    [ "$(cat done)" = "done" ]
}

@test "status shows each queue, its -j and its running tasks with their commands" {
    start_service -j 4
    mkfifo gate
    run -0 poolrun submit --queue nightly sh -c 'cat gate > /dev/null'
    wait_for 10 sh -c '"$POOLRUN" status | grep -q "running 1"'
    run -0 poolrun status
    [[ "${lines[0]}" == "queue nightly: -j 4, 1 unfinished, 0 done"* ]]
    [[ "${lines[1]}" == *"cat gate"* ]]
    run -0 poolrun status --json
    [ "$(jq -r '.queues[0].running[0].id' <<<"$output")" = "1" ]
    echo go >gate
    run -0 poolrun join nightly
}

@test "queues are joined apart: one queue's slow task does not hold another's join" {
    start_service
    mkfifo gate
    run -0 poolrun submit --queue slow sh -c 'cat gate > /dev/null'
    run -0 poolrun submit --queue fast true
    run -0 poolrun join fast
    run -124 poolrun join slow --timeout 0.1
    echo go >gate
    run -0 poolrun join slow
}

@test "a task id used twice is refused, naming it, and the first stays" {
    start_service
    run -0 poolrun submit --id build true
    [ "$output" = "build" ]
    run -255 poolrun submit --id build false
    [ "$output" = 'poolrun: submit: task id "build" is already in the service' ]
    run -0 poolrun wait build
}

@test "a bad task line refuses the whole submit, naming the line" {
    start_service
    printf '{"cmd": "true"}\n{"cmd": 5}\n' >tasks.jsonl
    run -255 poolrun submit --json <tasks.jsonl
    [[ "$output" == "poolrun: submit: submit:2:"* ]]
    run -0 poolrun status --json
    [ "$(jq '.queues | length' <<<"$output")" = "0" ]
}

@test "wait for a task the service does not know is an error" {
    start_service
    run -255 poolrun wait nope
    [ "$output" = "poolrun: wait: wait: no task nope" ]
}

@test "clients without a service say so" {
    run -255 poolrun status
    [ "$output" = "poolrun: status: no poolrun service runs ($sock)" ]
    run -255 poolrun join
    [[ "$output" == "poolrun: join: no poolrun service runs"* ]]
}

@test "a second service on the same socket is refused" {
    start_service
    run -255 poolrun serve
    [ "$output" = "poolrun: serve: $sock: a poolrun service already runs there" ]
}

@test "a malformed message gets an error and its connection closes; the service goes on" {
    start_service
    run -0 python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(struct.pack(">I", 5) + b"nope!")
n = struct.unpack(">I", s.recv(4))[0]; print(s.recv(n).decode())
print(repr(s.recv(10)))' "$sock"
    [[ "${lines[0]}" == *'"error":"not a request'* ]]
    [ "${lines[1]}" = "b''" ]
    run -0 poolrun submit --wait true
}

@test "an oversized frame is refused and the service goes on" {
    start_service
    run -0 python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(struct.pack(">I", 0xffffffff))
n = struct.unpack(">I", s.recv(4))[0]; print(s.recv(n).decode())' "$sock"
    [[ "$output" == *'"error":"message too large"'* ]]
    run -0 poolrun status
}

@test "another user cannot reach the service" {
    start_service
    chmod 755 "$BATS_TEST_TMPDIR"
    peer_dir=$(public_poolrun)
    run -255 setpriv --reuid=65534 --regid=65534 --clear-groups \
        env XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" "$peer_dir/poolrun" status
    [[ "$output" == "poolrun: status: "* ]]
    run -0 poolrun status
}

@test "a peer of another uid that reaches the socket is refused by SO_PEERCRED" {
    # A folder every user can pass through, as a careless admin might make
    # it: the service's own check of the peer still refuses the stranger.
    peer_dir=$(mktemp -d /tmp/poolrun-peercred.XXXXXX)
    export XDG_RUNTIME_DIR=$peer_dir
    sock="$XDG_RUNTIME_DIR/poolrun/serve.sock"
    start_service
    chmod 711 "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/poolrun"
    chmod 777 "$sock"
    # From / : the stranger may not enter this test's folder.
    cd /
    run -0 setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(struct.pack(">I", 15) + b"{\"op\":\"status\"}")
n = struct.unpack(">I", s.recv(4))[0]; print(s.recv(n).decode())' "$sock"
    [[ "$output" == *"uid 65534 may not use it"* ]]
    chmod 700 "$XDG_RUNTIME_DIR/poolrun"
    run -0 poolrun status
}

@test "shutdown --drain lets running tasks finish; the service then ends" {
    start_service
    mkfifo gate
    run -0 poolrun submit sh -c 'cat gate > /dev/null; echo done > done'
    wait_for 10 sh -c '"$POOLRUN" status | grep -q "running 1"'
    run -0 poolrun shutdown --drain
    echo go >gate
    wait_status "$server" 0
    [ "$(cat done)" = "done" ]
    [ ! -e "$sock" ]
}

@test "shutdown stops running tasks at once" {
    start_service
    run -0 poolrun submit sleep 60
    wait_for 10 sh -c '"$POOLRUN" status | grep -q "running 1"'
    run -0 poolrun shutdown
    wait_status "$server" 0
}

@test "after kill -9 of the service, every acknowledged task is there and runs" {
    start_service -j 2
    mkfifo gate1 gate2
    run -0 poolrun submit --id done true
    run -0 poolrun wait done
    run -0 poolrun submit --id held sh -c 'cat gate1 > /dev/null; echo ran >> held.out'
    run -0 poolrun submit --queue bulk --id queued sh -c 'cat gate2 > /dev/null; echo x >> q.out'
    wait_for 10 sh -c '"$POOLRUN" status | grep -q "running held"'
    kill -9 "$server"
    wait "$server" || true
    start_service -j 2
    run -0 poolrun status --json
    [ "$(jq -r '[.queues[].name] | sort | join(",")' <<<"$output")" = "bulk,default" ]
    echo go >gate1
    echo go >gate2
    run -0 poolrun wait held queued
    [ "$(cat held.out)" = "ran" ]
    [ "$(cat q.out)" = "x" ]
    # A task that had its final record before the crash does not run again.
    run -0 poolrun wait done
    run -0 poolrun status --json
    [ "$(jq -r '.queues[] | select(.name == "default") | .total' <<<"$output")" = "1" ]
}

@test "a journal torn in its last record loses only that record" {
    start_service
    run -0 poolrun submit --id first true
    run -0 poolrun submit --id second true
    run -0 poolrun wait first second
    run -0 poolrun shutdown
    wait_status "$server" 0
    size=$(stat -c %s "$state/journal")
    truncate -s $((size - 3)) "$state/journal"
    start_service
    run -0 poolrun wait first
    run -0 poolrun wait second
}

@test "a second service on the same state folder is refused" {
    start_service
    mkdir other
    run -255 env XDG_RUNTIME_DIR="$PWD/other" "$POOLRUN" serve
    [ "$output" = "poolrun: serve: another poolrun serve uses the state folder $state" ]
}

@test "cancel takes a waiting task off its queue: it never runs" {
    start_service -j 1
    mkfifo gate
    run -0 poolrun submit --id first sh -c 'cat gate > /dev/null'
    run -0 poolrun submit --id second sh -c 'echo ran > second.out'
    run -0 poolrun cancel second
    [ "$output" = "second: cancelled" ]
    echo go >gate
    run -0 poolrun join
    [ ! -e second.out ]
    run -0 poolrun wait second
}

@test "cancel stops a running task that ignores SIGTERM: SIGKILL after the grace" {
    start_service --kill-after 0.2
    run -0 poolrun submit --id stubborn sh -c 'trap "" TERM; touch started; while :; do sleep 0.05; done'
    wait_for 10 test -e started
    run -0 poolrun cancel stubborn
    [ "$output" = "stubborn: stopping" ]
    run -137 poolrun wait stubborn
    run -1 poolrun cancel stubborn
    [ "$output" = "stubborn: ended" ]
}

@test "cancel of a task the service does not know is an error" {
    start_service
    run -255 poolrun cancel nope
    [ "$output" = "poolrun: cancel: cancel: no such task" ]
}

@test "a closed queue takes no more tasks, and its join still works" {
    start_service
    run -0 poolrun submit --queue q true
    run -0 poolrun close q
    run -255 poolrun submit --queue q true
    [ "$output" = "poolrun: submit: the queue is closed: it takes no more tasks" ]
    run -0 poolrun join q
}

@test "--after runs a task once the one it names has succeeded" {
    start_service -j 4
    mkfifo gate
    run -0 poolrun submit --id build sh -c 'cat gate > /dev/null; echo built > build.out'
    run -0 poolrun submit --id report --after build sh -c 'cat build.out > report.out'
    [ ! -e report.out ]
    echo go >gate
    run -0 poolrun wait report
    [ "$(cat report.out)" = "built" ]
}

@test "--after a failed task records the dependent skipped; :any runs it anyway" {
    start_service -j 4
    run -0 poolrun submit --id broken false
    run -0 poolrun submit --id needs-ok --after broken touch ran-ok
    run -0 poolrun submit --id needs-any --after broken:any touch ran-any
    run -0 poolrun wait needs-ok needs-any
    [ ! -e ran-ok ]
    [ -e ran-any ]
    run -0 poolrun status --json
    [ "$(jq '.queues[0].total' <<<"$output")" = "3" ]
}

@test "a chain of --after survives kill -9 of the service" {
    start_service -j 4
    mkfifo gate
    run -0 poolrun submit --id one sh -c 'cat gate > /dev/null; echo 1 >> chain'
    run -0 poolrun submit --id two --after one sh -c 'echo 2 >> chain'
    run -0 poolrun submit --id three --after two sh -c 'echo 3 >> chain'
    wait_for 10 sh -c '"$POOLRUN" status | grep -q "running one"'
    kill -9 "$server"
    wait "$server" || true
    start_service -j 4
    wait_for 10 sh -c '"$POOLRUN" status | grep -q "running one"'
    echo go >gate
    run -0 poolrun wait three
    [ "$(cat chain | tr '\n' ' ')" = "1 2 3 " ]
}

@test "join waits for a task held by --after on a task of another queue" {
    start_service
    mkfifo gate
    run -0 poolrun submit --queue first --id parent sh -c 'cat gate > /dev/null'
    run -0 poolrun submit --queue second --id child --after parent touch child.out
    run -124 poolrun join second --timeout 0.2
    run -0 poolrun status --json
    [ "$(jq '.queues[] | select(.name == "second") | .unfinished' <<<"$output")" = "1" ]
    echo go >gate
    run -0 poolrun join second
    [ -e child.out ]
}

@test "shutdown with tasks held by --after ends; they run after a restart" {
    start_service
    mkfifo gate
    run -0 poolrun submit --id parent sh -c 'cat gate > /dev/null; touch parent.out'
    run -0 poolrun submit --queue later --id child --after parent:any touch child.out
    run -0 poolrun shutdown
    wait_status "$server" 0
    [ ! -e child.out ]
    # The parent was stopped (a final record: killed); the child, which
    # runs after it whatever its end, had not started: it runs now.
    start_service
    run -0 poolrun wait child
    [ -e child.out ]
    [ ! -e parent.out ]
}

@test "--after a task the service does not know refuses the submit" {
    start_service
    run -255 poolrun submit --after nope true
    [ "$output" = "poolrun: submit: --after nope: no such task" ]
    run -255 poolrun submit --after x:maybe true
    [ "$output" = "poolrun: submit: --after x:maybe: not ID, ID:ok or ID:any" ]
}

@test "a line that is not UTF-8 text is refused before any service starts" {
    printf 'echo \376\n' >bad
    run -255 poolrun submit <bad
    [ "$output" = "poolrun: submit: not UTF-8 text, which the service cannot carry: echo ?" ]
    [ ! -e "$sock" ]
}

@test "log shows a task's stdout and stderr once it has ended, also after a restart" {
    start_service
    run -0 poolrun submit --id talk sh -c 'echo out line; echo err line >&2'
    run -0 poolrun wait talk
    run -0 --separate-stderr poolrun log talk
    [ "$output" = "out line" ]
    [ "$stderr" = "err line" ]
    run -0 poolrun shutdown
    wait_status "$server" 0
    start_service
    run -0 --separate-stderr poolrun log talk
    [ "$output" = "out line" ]
}

@test "log of a task that has not ended says so" {
    start_service
    mkfifo gate
    run -0 poolrun submit --id held sh -c 'cat gate > /dev/null'
    run -255 poolrun log held
    [ "$output" = "poolrun: log: log: the task has not ended: its output is kept once it has" ]
    echo go >gate
    run -0 poolrun wait held
}

@test "each verb says its usage with --help, and --help names every verb" {
    for verb in serve submit status join wait log cancel close shutdown; do
        run -0 poolrun "$verb" --help
        [[ "${lines[0]}" == "Usage: poolrun $verb"* ]]
        run -0 poolrun --help
        [[ "$output" == *"poolrun $verb "* ]]
    done
    [ ! -e "$sock" ]
}

@test "submit -j changes a queue's -j while it runs; status shows it" {
    start_service -j 1
    mkfifo a b
    run -0 poolrun submit --id a sh -c 'cat a > /dev/null'
    run -0 poolrun submit --id b sh -c 'cat b > /dev/null'
    wait_for 10 sh -c '"$POOLRUN" status | grep -q "running a"'
    run -0 poolrun status
    [[ "${lines[0]}" == "queue default: -j 1, 2 unfinished"* ]]
    run -0 poolrun submit -j 2 true
    wait_for 10 sh -c '"$POOLRUN" status | grep -q "running b"'
    run -0 poolrun status
    [[ "${lines[0]}" == "queue default: -j 2,"* ]]
    echo go >a
    echo go >b
    run -0 poolrun join
    run -255 poolrun submit -j 0 true
    [ "$output" = "poolrun: submit: -j must be a whole number >= 1" ]
}

@test "submit -f puts a job file's tasks, with their ids, on a queue" {
    start_service
    mkdir sub
    cat >sub/jobs.json <<'JSON'
{"jobs": 3, "tasks": [
  {"id": "a", "cmd": "pwd > a.out"},
  {"id": "b", "argv": ["sh", "-c", "exit 4"], "cwd": "."}
]}
JSON
    run -0 poolrun submit --queue files -f sub/jobs.json
    [ "${lines[0]}" = "a" ]
    [ "${lines[1]}" = "b" ]
    run -4 poolrun wait b
    run -1 poolrun join files
    [ "$(cat a.out)" = "$BATS_TEST_TMPDIR" ]
    run -0 poolrun status
    [[ "${lines[0]}" == "queue files: -j 3,"* ]]
}

@test "submit -f refuses a bad job file, naming the place, and a service task" {
    start_service
    printf '{"tasks": [{"cmd": 5}]}\n' >bad.json
    run -255 poolrun submit -f bad.json
    [[ "$output" == "poolrun: submit: bad.json:1:"* ]]
    printf '{"tasks": [{"cmd": "sleep 9", "daemon": true}]}\n' >svc.json
    run -255 poolrun submit -f svc.json
    [[ "$output" == *"a service (\"daemon\": true) needs a poolrun run of its own"* ]]
    run -255 poolrun submit -f missing.json
    [ "$output" = "poolrun: submit: -f missing.json: no such file or directory" ]
}

@test "a queue holds more waiting tasks than the one-shot command reads ahead, also after a restart" {
    start_service -j 1
    mkfifo gate
    run -0 poolrun submit --id first sh -c 'cat gate > /dev/null'
    seq 1500 | sed 's/^/echo /' >lines
    run -0 poolrun submit <lines
    [ "${#lines[@]}" -eq 1500 ]
    kill -9 "$server"
    wait "$server" || true
    start_service -j 4
    echo go >gate
    run -0 poolrun join
    run -0 poolrun status --json
    [ "$(jq '.queues[0].total' <<<"$output")" = "1501" ]
}

@test "poolrun -- submit runs a program named submit" {
    mkdir bin
    printf '#!/bin/sh\necho "the submit program: $*"\n' >bin/submit
    chmod +x bin/submit
    PATH="$PWD/bin:$PATH" run -0 poolrun -- submit ::: x
    [ "$output" = "the submit program: x" ]
}

@test "a waiting task that is cancelled has its final record at once, while the queue is busy" {
    start_service -j 1
    mkfifo gate
    run -0 poolrun submit --id first sh -c 'cat gate > /dev/null'
    run -0 poolrun submit --id second sh -c 'echo ran > second.out'
    run -0 poolrun cancel second
    # Ended before the only slot is free.
    run -0 poolrun wait --timeout 10 second
    run -0 poolrun status --json
    [ "$(jq '.queues[0].running | length' <<<"$output")" -eq 1 ]
    echo go >gate
    run -0 poolrun join
    [ ! -e second.out ]
}

@test "shutdown keeps the tasks that had not started for the next service" {
    start_service -j 1
    mkfifo gate
    run -0 poolrun submit --id first sh -c 'cat gate > /dev/null'
    run -0 poolrun submit --id second sh -c 'echo ran >> second.out'
    wait_for 10 sh -c '"$POOLRUN" status | grep -q "running first"'
    run -0 poolrun shutdown
    wait_status "$server" 0
    [ ! -e second.out ]
    start_service -j 1
    run -0 poolrun wait --timeout 10 second
    [ "$(cat second.out)" = ran ]
    # The first was stopped: it has its final record and does not run again.
    run -143 poolrun wait first
}

@test "a high --priority task submitted behind many waiting ones starts next" {
    start_service -j 1
    mkfifo gate
    run -0 poolrun submit --id first sh -c 'cat gate > /dev/null'
    wait_for 10 sh -c '"$POOLRUN" status | grep -q "running first"'
    # More than the few waiting tasks a queue hands its pool at a time.
    for n in $(seq 40); do echo "echo low$n >> order"; done >low
    run -0 poolrun submit <low
    run -0 poolrun submit --id high --priority 5 sh -c 'echo high >> order'
    echo go >gate
    run -0 poolrun join
    [ "$(head -n 1 order)" = high ]
    [ "$(sed -n 2p order)" = low1 ]
    [ "$(wc -l <order)" -eq 41 ]
}

@test "serve --order lifo starts the last submitted task first" {
    start_service -j 1 --order lifo
    mkfifo gate
    run -0 poolrun submit --id first sh -c 'cat gate > /dev/null'
    wait_for 10 sh -c '"$POOLRUN" status | grep -q "running first"'
    for n in 1 2 3; do
        run -0 poolrun submit sh -c "echo $n >> order"
    done
    echo go >gate
    run -0 poolrun join
    [ "$(tr '\n' ' ' <order)" = "3 2 1 " ]
}
