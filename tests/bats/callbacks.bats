#!/usr/bin/env bats
# apply_async-style callbacks: --on-done, --on-fail, --on-join.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
}


@test "--on-done gets the task's stdout on stdin and its facts in the environment" {
    cat >cb.sh <<'EOF'
{
    echo "seq=$POOLRUN_SEQ item=$POOLRUN_ITEM status=$POOLRUN_STATUS exit=$POOLRUN_EXIT"
    printf '%s\n' "signal=$POOLRUN_SIGNAL attempts=$POOLRUN_ATTEMPTS cmd=$POOLRUN_CMD"
    echo "stdin=$(cat)"
    case $POOLRUN_RUNTIME in [0-9]*.[0-9][0-9][0-9]) echo runtime-ok ;; esac
} >"cb.$POOLRUN_SEQ"
EOF
    run -0 --separate-stderr poolrun --on-done 'sh cb.sh' printf '%s-out\n' ::: 'a b'
    [ "$output" = "a b-out" ]
    [ "$(cat cb.1)" = "$(printf '%s\n' 'seq=1 item=a b status=ok exit=0' \
        "signal=0 attempts=1 cmd=printf '%s-out\\n' 'a b'" 'stdin=a b-out' runtime-ok)" ]
}

@test "with -k a callback still reads the task's whole stdout" {
    run -0 --separate-stderr poolrun -k --on-done 'wc -c > "count.$POOLRUN_SEQ"' \
        sh -c 'head -c $0 /dev/zero' ::: 3000000 5
    [ "$(cat count.1)" -eq 3000000 ]
    [ "$(cat count.2)" -eq 5 ]
}

@test "--on-fail runs once, after the last failed attempt" {
    echo 'echo x >> tries; echo "out $(wc -l < tries)"; exit 3' >lines
    run --separate-stderr poolrun --retries 2 --on-done 'touch done-ran' \
        --on-fail 'echo "$POOLRUN_STATUS $POOLRUN_EXIT $POOLRUN_ATTEMPTS $(cat)" >> fails' <lines
    [ "$status" -eq 1 ]
    [ "$(cat fails)" = "failed 3 3 out 3" ]
    [ ! -e done-ran ]
}

@test "callbacks run one at a time, in the order the tasks ended" {
    seq 40 >items
    run -0 --separate-stderr poolrun -j 4 --joblog log \
        --on-done 'mkdir lock || echo overlap >> bad; echo $POOLRUN_SEQ >> order; sleep 0.005; rmdir lock' \
        sh -c 'sleep 0.0$(($0 % 7))' <items
    [ ! -e bad ]
    [ "$(wc -l <order)" -eq 40 ]
    # The job log's rows are written as tasks end: the same order.
    [ "$(cat order)" = "$(joblog_rows log | cut -f1)" ]
}

@test "a slow callback holds no slot: the other tasks keep running" {
    # -j 2 and every callback waits until task 4 has started: only tasks
    # that start while callbacks are waiting can let them finish.
    run -0 --separate-stderr poolrun -j 2 \
        --on-done 'until [ -e started.4 ]; do sleep 0.01; done; echo $POOLRUN_SEQ >> cbs' \
        sh -c 'touch started.$0' ::: 1 2 3 4
    [ "$(sort cbs | tr '\n' ' ')" = "1 2 3 4 " ]
}

@test "poolrun exits only after every callback has finished" {
    # Every task has ended and the callbacks are held until `go` exists.
    "$POOLRUN" -j 4 --joblog log \
        --on-done 'touch held; until [ -e go ]; do sleep 0.01; done; echo $POOLRUN_SEQ >> cbs' \
        true ::: 1 2 3 2>err &
    pid=$!
    wait_for 20 all_exist held
    wait_for 20 joblog_has_rows log 3
    alive "$pid"
    touch go
    wait_status "$pid" 0
    [ "$(sort cbs | tr '\n' ' ')" = "1 2 3 " ]
}

@test "a failing callback is reported and leaves the task's result alone" {
    run --separate-stderr poolrun --results r.jsonl --on-done 'echo cb-out; exit 5' echo ::: hi
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'hi\ncb-out')" ]
    [[ $stderr == *"poolrun: the on_done callback of task 1: exit status 5: echo cb-out; exit 5"* ]]
    jq -e -s 'map(select(.callback == "on_done"))[0] | .seq == 1 and .status == "failed" and .exit == 5 and .stdout == "cb-out\n"' r.jsonl
    jq -e -s 'map(select(.callback == null))[0] | .status == "ok"' r.jsonl
}

@test "--on-join runs once, after every task and callback, with the counts" {
    # Each callback waits until all three tasks have their rows: were
    # --on-join run when the tasks end, it would come first.
    run --separate-stderr poolrun -j 3 --joblog log \
        --on-done 'until [ "$(wc -l < log)" -ge 4 ]; do sleep 0.01; done; echo done >> order' \
        --on-join 'echo "join $POOLRUN_TOTAL $POOLRUN_OK $POOLRUN_FAILED $POOLRUN_SKIPPED" >> order' \
        sh -c 'exit $0' ::: 0 0 4
    [ "$status" -eq 1 ]
    [ "$(cat order)" = "$(printf 'done\ndone\njoin 3 2 1 0')" ]
}

@test "a job file's on_done and on_fail override the command line's" {
    cat >jobs.json <<'EOF'
{"defaults": {"on_fail": "echo default-fail $POOLRUN_ID >> cbs"},
 "tasks": [
  {"id": "a", "cmd": "true", "on_done": "echo own-done $POOLRUN_ID >> cbs"},
  {"id": "b", "cmd": "true"},
  {"id": "c", "cmd": "false"},
  {"id": "d", "cmd": "false", "on_fail": "echo own-fail $POOLRUN_ID >> cbs"}
]}
EOF
    run --separate-stderr poolrun -j 1 -f jobs.json --on-done 'echo cli-done $POOLRUN_ID >> cbs'
    [ "$status" -eq 2 ]
    [ "$(cat cbs)" = "$(printf '%s\n' 'own-done a' 'cli-done b' 'default-fail c' 'own-fail d')" ]
}

@test "SIGHUP drains: running tasks and their callbacks finish, the rest is skipped" {
    printf '%s\n' 'touch running; until [ -e go ]; do sleep 0.01; done; echo first' 'echo never' >lines
    "$POOLRUN" -j 1 --on-done 'echo "cb $(cat)" >> cbs' <lines >out 2>err &
    pid=$!
    wait_for 20 all_exist running
    kill -HUP "$pid"
    # Drain is under way: nothing new starts while the running task goes on.
    touch go
    wait_status "$pid" 129
    [ "$(cat out)" = first ]
    [ "$(cat cbs)" = "cb first" ]
    grep -qx 'poolrun: 2 tasks: 1 ok, 1 skipped' err
}

@test "SIGINT stops callbacks too: the running one gets the signal" {
    echo 'true' >lines
    "$POOLRUN" --on-done 'echo $$ > cb; exec sleep 1000' <lines >out 2>err &
    pid=$!
    wait_for 20 all_exist cb
    kill -INT "$pid"
    wait_status "$pid" 130
    not_alive "$(cat cb)"
}

@test "with --ungroup a callback's stdin is empty: the output has gone out" {
    run -0 --separate-stderr poolrun -u --on-done 'echo "[$(cat)]" >> cbs' echo ::: hi
    [ "$output" = hi ]
    [ "$(cat cbs)" = "[]" ]
}
