#!/usr/bin/env bats
# poolrun serve --start-paused and resume: after a crash, the tasks that
# were running wait instead of running again.  serve --joblog and
# --results: each queue its own file, added to across restarts.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    load serve_helpers
    serve_setup
}

teardown() {
    serve_teardown
}


# blocked ID GATE [SUBMIT OPTIONS...]: submits task ID, which writes
# "started" to ID.side, waits for a line on the fifo GATE, then writes
# "done"; returns once it has started.
blocked() {
    local id=$1 gate=$2
    shift 2
    "$POOLRUN" submit --id "$id" "$@" \
        sh -c "echo started >> $id.side; cat $gate > /dev/null; echo done >> $id.side" >/dev/null
    wait_for 10 test -s "$id.side"
}

# crash: kill -9 the service; returns once the tasks it ran are gone too.
crash() {
    local pids pid
    pids=$("$POOLRUN" status --json | jq -r '.queues[].running[].pid')
    kill -9 "$server"
    wait "$server" || true
    for pid in $pids; do
        wait_for 10 not_alive "$pid"
    done
    rm -f "$sock"
}

# The ids status shows paused, and those it shows running.
paused_ids() {
    "$POOLRUN" status --json | jq -r '[.queues[].paused[].id] | join(",")'
}
running_ids() {
    "$POOLRUN" status --json | jq -r '[.queues[].running[].id] | join(",")'
}

@test "after kill -9, serve --start-paused holds the task that was running until resume" {
    start_service -j 1 --results 'res.{queue}'
    mkfifo gate
    blocked t gate
    run -0 poolrun submit --id later touch later.out
    crash
    start_service -j 1 --start-paused --results 'res.{queue}'
    [ "$(paused_ids)" = "t" ]
    [ "$(running_ids)" = "" ]
    run -0 poolrun status
    [[ "$output" == *"  paused t (was running when the service died;"* ]]
    # A task that never started is not held: it runs.
    run -0 poolrun wait later
    [ -e later.out ]
    [ "$(cat t.side)" = "started" ]
    run -0 poolrun resume
    [ "$output" = "t: resumed" ]
    [ "$(paused_ids)" = "" ]
    echo go >gate
    run -0 poolrun wait t
    [ "$(cat t.side | tr '\n' ' ')" = "started started done " ]
    # The run before the crash was its first attempt.
    [ "$(jq -r 'select(.id == "t") | .attempt' res.default)" = "2" ]
}

@test "after kill -9, without --start-paused the task that was running runs again as a new attempt" {
    start_service --results 'res.{queue}'
    mkfifo gate
    blocked t gate
    crash
    start_service --results 'res.{queue}'
    [ "$(paused_ids)" = "" ]
    wait_for 10 sh -c '[ "$(wc -l < t.side)" -eq 2 ]'
    echo go >gate
    run -0 poolrun wait t
    [ "$(cat t.side | tr '\n' ' ')" = "started started done " ]
    [ "$(jq -r 'select(.id == "t") | .attempt' res.default)" = "2" ]
}

@test "cancel of a paused task records it skipped; it never runs, also after a restart" {
    start_service
    mkfifo gate
    blocked t gate
    crash
    start_service --start-paused
    run -0 poolrun cancel t
    [ "$output" = "t: cancelled" ]
    run -0 poolrun wait t
    run -0 poolrun status --json
    [ "$(jq -r '.queues[0].unfinished' <<<"$output")" = "0" ]
    [ "$(paused_ids)" = "" ]
    run -0 poolrun shutdown
    wait_status "$server" 0
    start_service --start-paused
    [ "$(paused_ids)" = "" ]
    [ "$(running_ids)" = "" ]
    [ "$(cat t.side)" = "started" ]
}

@test "join counts a paused task as unfinished until it is resumed and ends" {
    start_service
    mkfifo gate
    blocked t gate
    crash
    start_service --start-paused
    run -124 poolrun join --timeout 0.2
    run -0 poolrun status --json
    [ "$(jq -r '.queues[0].unfinished' <<<"$output")" = "1" ]
    run -0 poolrun resume t
    [ "$output" = "t: resumed" ]
    echo go >gate
    run -0 poolrun join
}

@test "resume --queue Q lets go only Q's paused tasks" {
    start_service -j 4
    mkfifo ga gb
    blocked a ga --queue qa
    blocked b gb --queue qb
    crash
    start_service -j 4 --start-paused
    [ "$(paused_ids)" = "a,b" ]
    run -0 poolrun resume --queue qa
    [ "$output" = "a: resumed" ]
    [ "$(paused_ids)" = "b" ]
    echo go >ga
    run -0 poolrun wait a
    [ "$(cat b.side)" = "started" ]
}

@test "resume says which tasks were not paused, and refuses what it does not know" {
    start_service
    run -0 poolrun submit --id done true
    run -0 poolrun wait done
    run -1 poolrun resume done
    [ "$output" = "done: not paused" ]
    run -0 poolrun resume
    [ "$output" = "" ]
    run -255 poolrun resume nope
    [ "$output" = "poolrun: resume: no such task nope" ]
    run -255 poolrun resume --queue nope
    [ "$output" = "poolrun: resume: no such queue nope" ]
    run -255 poolrun resume --queue default done
    [ "$output" = "poolrun: resume: task ids or --queue, not both" ]
    run -255 poolrun resume --bogus
    [ "$output" = "poolrun: resume: unknown option --bogus" ]
}

@test "shutdown --drain ends with a task paused, which stays paused for the next service" {
    start_service
    mkfifo gate
    blocked t gate
    crash
    start_service --start-paused
    run -0 poolrun shutdown --drain
    wait_status "$server" 0
    start_service --start-paused
    [ "$(paused_ids)" = "t" ]
    run -0 poolrun shutdown
    wait_status "$server" 0
    start_service
    wait_for 10 sh -c '[ "$(wc -l < t.side)" -eq 2 ]'
    echo go >gate
    run -0 poolrun wait t
}

@test "resume and serve say their usage with --help, and --help names resume" {
    run -0 poolrun resume --help
    [ "${lines[0]}" = "Usage: poolrun resume [ID...|--queue Q]" ]
    run -0 poolrun serve --help
    [[ "$output" == *"--start-paused: a task that was running when the service"* ]]
    [[ "$output" == *"{queue} replaced by the queue's name"* ]]
    run -0 poolrun --help
    [[ "$output" == *"  poolrun resume [ID...]          run tasks a paused restart holds"* ]]
    [ ! -e "$sock" ]
}

@test "serve --joblog and --results with {queue}: each queue writes its own file" {
    mkdir logs
    start_service --joblog 'logs/{queue}.log' --results 'logs/{queue}.jsonl'
    run -0 poolrun submit --queue qa --id a1 echo a1
    run -0 poolrun submit --queue qb --id b1 echo b1
    run -0 poolrun submit --queue qa --id a2 echo a2
    run -0 poolrun wait a1 b1 a2
    [ "$(joblog_rows logs/qa.log | cut -f 9 | tr '\n' ' ')" = "echo a1 echo a2 " ]
    [ "$(joblog_rows logs/qb.log | cut -f 9)" = "echo b1" ]
    [ "$(jq -r .id logs/qa.jsonl | tr '\n' ' ')" = "a1 a2 " ]
    [ "$(jq -r .id logs/qb.jsonl)" = "b1" ]
}

@test "a restarted service adds to each queue's joblog and results, never cuts them" {
    start_service --joblog '{queue}.log' --results '{queue}.jsonl'
    run -0 poolrun submit --id a1 echo a1
    run -0 poolrun wait a1
    run -0 poolrun shutdown
    wait_status "$server" 0
    start_service --joblog '{queue}.log' --results '{queue}.jsonl'
    run -0 poolrun submit --id a2 echo a2
    run -0 poolrun wait a2
    [ "$(head -n 1 default.log | cut -f 1)" = "Seq" ]
    [ "$(grep -c '^Seq' default.log)" = "1" ]
    [ "$(joblog_rows default.log | cut -f 9 | tr '\n' ' ')" = "echo a1 echo a2 " ]
    [ "$(jq -r .id default.jsonl | tr '\n' ' ')" = "a1 a2 " ]
}

@test "serve refuses --joblog or --results without {queue}, naming the option" {
    run -255 poolrun serve --joblog all.log
    [ "$output" = "poolrun: serve: --joblog: the file name needs {queue}, which each queue's name replaces (each queue writes its own)" ]
    run -255 poolrun serve --results all.jsonl
    [ "$output" = "poolrun: serve: --results: the file name needs {queue}, which each queue's name replaces (each queue writes its own)" ]
    [ ! -e "$sock" ]
    [ ! -e all.log ]
}

@test "a queue name with / or .. keeps its file in the folder --joblog names" {
    mkdir logs
    start_service --joblog 'logs/{queue}.log' --results 'logs/{queue}/r.jsonl'
    run -255 poolrun submit --queue .. true
    [ "$output" = "poolrun: submit: --results logs/%2E./r.jsonl: no such file or directory" ]
    mkdir logs/%2E. logs/a%2Fb
    run -0 poolrun submit --queue .. --id up true
    run -0 poolrun submit --queue a/b --id ab true
    run -0 poolrun wait up ab
    [ "$(jq -r .id logs/%2E./r.jsonl)" = "up" ]
    [ "$(jq -r .id logs/a%2Fb/r.jsonl)" = "ab" ]
    [ "$(joblog_rows logs/%2E..log | cut -f 9)" = "true" ]
    [ "$(joblog_rows logs/a%2Fb.log | cut -f 9)" = "true" ]
    [ ! -e r.jsonl ]
    [ ! -e logs/r.jsonl ]
    [ ! -e .log ]
}
