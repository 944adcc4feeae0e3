#!/usr/bin/env bats
# Job files as a CI runner: "after" and "after_any" between tasks (of one
# or several -f files, and of --json lines), skipped tasks and their
# reasons, a job file's "order", and --tag with a task's id.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
}

# refused FILE-CONTENT EXPECTED-MESSAGE: the job file is refused with that
# message (after "poolrun: jobs.json:"), exit 255, and nothing ran.
refused() {
    printf '%s' "$1" >jobs.json
    run -255 --separate-stderr "$POOLRUN" -f jobs.json
    [ "$stderr" = "poolrun: jobs.json:$2" ] || {
        echo "got: $stderr" >&2
        return 1
    }
    [ ! -e ran ] || return 1
    [ -z "$output" ]
}

# A pipeline whose build fails: lint needs it, report runs anyway.
failing_pipeline() {
    cat >jobs.json <<'JSON'
{"jobs": 2, "tasks": [
  {"id": "lint", "after": ["build"], "cmd": "echo lint >>ran"},
  {"id": "build", "cmd": "echo building; exit 3"},
  {"id": "package", "after": ["lint"], "cmd": "echo package >>ran"},
  {"id": "report", "after_any": ["build"], "cmd": "echo report"}
]}
JSON
}

@test "the example pipeline runs build, then lint and test, then package" {
    cd "$PR_SRC"
    run -0 --separate-stderr "$POOLRUN" -f jobs/pipeline.json
    [ "${lines[0]}" = built ]
    [ "$(printf '%s\n' "${lines[1]}" "${lines[2]}" | sort | tr '\n' ' ')" = 'lint: no gets() test: passed ' ]
    [ "${lines[3]}" = packaged ]
    [ "${lines[4]}" = 'clean: done, whatever happened' ]
    [ "${#lines[@]}" -eq 5 ]
}

@test "a task waits for the tasks it runs after, even when it comes first in the file" {
    mkfifo gate
    cat >jobs.json <<'JSON'
{"jobs": 4, "tasks": [
  {"id": "second", "after": ["first"], "cmd": "echo second >>log"},
  {"id": "first", "cmd": "touch started; read x <gate; echo first >>log"}
]}
JSON
    "$POOLRUN" -f jobs.json &
    pid=$!
    wait_for 10 all_exist started
    echo go >gate
    wait_status "$pid" 0
    [ "$(cat log)" = $'first\nsecond' ]
}

@test "a task whose dependency failed is skipped, with the reason in --results and on stderr" {
    failing_pipeline
    run -1 --separate-stderr poolrun -j 2 -f jobs.json --results r.jsonl
    [ ! -e ran ]
    [ "$output" = $'building\nreport' ]
    [[ $stderr == *'poolrun: task 1 (lint): skipped: a task it runs after did not succeed: "build" (failed): echo lint >>ran'* ]]
    [[ $stderr == *'poolrun: task 3 (package): skipped: a task it runs after did not succeed: "lint" (skipped): echo package >>ran'* ]]
    [[ $stderr == *'poolrun: 4 tasks: 1 ok, 1 failed, 2 skipped'* ]]
    run -0 jq -r 'select(.status == "skipped") | "\(.id): \(.reason)"' r.jsonl
    [ "$output" = $'lint: a task it runs after did not succeed: "build" (failed)\npackage: a task it runs after did not succeed: "lint" (skipped)' ]
}

@test "skipped tasks are not in the job log and do not count in the exit status" {
    failing_pipeline
    run -1 poolrun -f jobs.json --joblog log
    [ "$(joblog_rows log | cut -f 1,7 | sort)" = $'2\t3\n4\t0' ]
}

@test "--resume-failed runs a failed dependency again, then what was skipped" {
    cat >jobs.json <<'JSON'
{"tasks": [
  {"id": "build", "cmd": "test -e fixed && echo built"},
  {"id": "lint", "after": ["build"], "cmd": "echo lint"}
]}
JSON
    run -1 poolrun -f jobs.json --joblog log
    touch fixed
    run -0 poolrun -f jobs.json --joblog log --resume-failed
    [ "$output" = $'built\nlint' ]
}

@test "after_any runs once its dependency has ended, whatever its status" {
    cat >jobs.json <<'JSON'
{"tasks": [
  {"id": "t", "cmd": "echo t >>log; kill -9 $$"},
  {"id": "cleanup", "after_any": ["t"], "cmd": "echo cleanup >>log"}
]}
JSON
    run -1 poolrun -j 2 -f jobs.json
    [ "$(cat log)" = $'t\ncleanup' ]
}

@test "a task may name tasks of another -f file, earlier or later" {
    echo '{"tasks":[{"id":"a","after":["b"],"cmd":"echo a >>log"}]}' >one.json
    echo '{"tasks":[{"id":"b","cmd":"echo b >>log"},{"after":["a"],"cmd":"echo c >>log"}]}' >two.json
    run -0 poolrun -j 3 -f one.json -f two.json
    [ "$(cat log)" = $'b\na\nc' ]
}

@test "an unknown id in after is refused with its place, before anything runs" {
    refused $'{"tasks":[\n {"id":"build","cmd":"touch ran"},\n {"after":["build", "biuld"],"cmd":"touch ran"}]}' \
        '3:21: tasks[1].after[1]: no task has the id "biuld"'
}

@test "a cycle is refused with its place and the ids in it, before anything runs" {
    refused $'{"tasks":[\n {"id":"a","after":["c"],"cmd":"touch ran"},\n {"id":"b","after":["a"],"cmd":"touch ran"},\n {"id":"c","after_any":["b"],"cmd":"touch ran"}]}' \
        '3:21: tasks[1].after[0]: a cycle (each runs after the next): a -> c -> b -> a'
}

@test "a task that runs after itself is a cycle" {
    refused '{"tasks":[{"id":"a","after":["a"],"cmd":"touch ran"}]}' \
        '1:30: tasks[0].after[0]: a cycle (each runs after the next): a -> a'
}

@test "after must be a list of ids" {
    refused '{"tasks":[{"after":"a","cmd":"touch ran"}]}' \
        '1:20: tasks[0].after: must be a list of task ids'
    refused '{"tasks":[{"id":"a","cmd":"touch ran"},{"after":["a",""],"cmd":"touch ran"}]}' \
        '1:54: tasks[1].after[1]: must be a task id (a string)'
}

@test "after is refused in defaults" {
    refused '{"defaults":{"after":["a"]},"tasks":[{"id":"a","cmd":"touch ran"}]}' \
        '1:22: defaults.after: unknown field (defaults may hold env, cwd, timeout, retries, retry_on, priority, daemon, on_done and on_fail)'
}

@test "a service cannot run after a task, nor a task after a service" {
    refused '{"tasks":[{"id":"a","cmd":"touch ran"},{"daemon":true,"after":["a"],"cmd":"touch ran"}]}' \
        '1:40: tasks[1]: a service ("daemon": true) starts before the other tasks: it cannot run after one'
    refused '{"tasks":[{"id":"db","daemon":true,"cmd":"touch ran"},{"after":["db"],"cmd":"touch ran"}]}' \
        '1:65: tasks[1].after[0]: "db" is a service ("daemon": true): it runs until the other tasks have ended'
}

@test "--json: a line runs after earlier lines" {
    mkfifo gate
    {
        echo '{"id":"first","cmd":"touch started; read x <gate; echo first >>log"}'
        echo '{"after":["first"],"cmd":"echo second >>log"}'
    } >lines
    "$POOLRUN" -j 4 --json <lines &
    pid=$!
    wait_for 10 all_exist started
    echo go >gate
    wait_status "$pid" 0
    [ "$(cat log)" = $'first\nsecond' ]
}

@test "--json: a dependency that failed skips the line, even when it ended long before" {
    printf '%s\n' '{"id":"a","cmd":"exit 1"}' '{"cmd":"touch a-ended"}' \
        '{"after":["a"],"cmd":"touch ran"}' >lines
    run -1 --separate-stderr poolrun -j 1 --json <lines
    [ ! -e ran ]
    [[ $stderr == *'poolrun: 3 tasks: 1 ok, 1 failed, 1 skipped'* ]]
}

@test "--json: a line naming an id not read yet is refused there; the lines before it run" {
    printf '%s\n' '{"id":"a","cmd":"touch a"}' '{"after":["b"],"cmd":"touch ran"}' \
        '{"id":"b","cmd":"touch ran"}' >lines
    run -255 --separate-stderr poolrun --json <lines
    [ -e a ]
    [ ! -e ran ]
    [[ $stderr == *'poolrun: <stdin>:2:11: after[0]: no task "b" on an earlier line (a stream is run as it is read: a task runs after tasks above it)'* ]]
}

@test "Ctrl-C records a task still waiting for its dependency skipped" {
    cat >jobs.json <<'JSON'
{"tasks": [
  {"id": "slow", "cmd": "touch started; exec sleep 30"},
  {"id": "next", "after": ["slow"], "cmd": "touch ran"}
]}
JSON
    "$POOLRUN" -f jobs.json --results r.jsonl 2>err &
    pid=$!
    wait_for 10 all_exist started
    kill -INT "$pid"
    wait_status "$pid" 130
    [ ! -e ran ]
    [ "$(jq -r 'select(.id == "next") | "\(.status) \(.reason)"' r.jsonl)" = 'skipped signal' ]
}

@test "ids are data: quotes, spaces and \$(...) in an id and in after" {
    cat >jobs.json <<'JSON'
{"tasks": [
  {"id": "a \"b\" $(touch pwned) 'c'", "cmd": "exit 1"},
  {"id": "-x", "after": ["a \"b\" $(touch pwned) 'c'"], "cmd": "touch ran"}
]}
JSON
    run -1 --separate-stderr poolrun --tag -f jobs.json
    [ ! -e ran ]
    [ ! -e pwned ]
    [[ $stderr == *"poolrun: task 2 (-x): skipped: a task it runs after did not succeed: \"a \"b\" \$(touch pwned) 'c'\" (failed)"* ]]
}

@test "--tag with a job file tags each line with the task's id, or its number" {
    echo '{"tasks":[{"id":"build","cmd":"echo one; echo two"},{"cmd":"echo three"}]}' >jobs.json
    run -0 poolrun -k --tag -f jobs.json
    [ "$output" = $'build\tone\nbuild\ttwo\n2\tthree' ]
}

@test "a job file's priority orders the whole file, its first task too" {
    cat >jobs.json <<'JSON'
{"jobs": 1, "order": "priority", "tasks": [
  {"cmd": "echo first"},
  {"cmd": "echo low", "priority": 1},
  {"cmd": "echo high-a", "priority": 9},
  {"cmd": "echo mid", "priority": 5},
  {"cmd": "echo high-b", "priority": 9}
]}
JSON
    run -0 poolrun -f jobs.json
    [ "$output" = $'high-a\nhigh-b\nmid\nlow\nfirst' ]
}

@test "a job file's priority orders more tasks than --queue-size" {
    {
        echo '{"jobs": 1, "order": "priority", "tasks": ['
        for i in 1 2 3 4 5 6 7 8; do echo "{\"cmd\": \"echo $i\", \"priority\": $i},"; done
        echo '{"cmd": "echo 9", "priority": 9}]}'
    } >jobs.json
    run -0 poolrun --queue-size 2 -f jobs.json
    [ "$output" = "$(seq 9 -1 1)" ]
}

@test "--order on the command line wins over the job file's order" {
    echo '{"jobs":1,"order":"lifo","tasks":[{"cmd":"echo 1"},{"cmd":"echo 2"},{"cmd":"echo 3"}]}' >jobs.json
    run -0 poolrun -f jobs.json
    [ "$output" = $'3\n2\n1' ]
    run -0 poolrun --order fifo -f jobs.json
    [ "$output" = $'1\n2\n3' ]
}

@test "a job file's order must be fifo, lifo or priority" {
    refused '{"order":"random","tasks":[{"cmd":"touch ran"}]}' \
        '1:10: order: must be "fifo", "lifo" or "priority"'
}

@test "submit refuses a task's after, which the queue service would not honour" {
    echo '{"tasks":[{"id":"a","cmd":"touch ran"},{"after":["a"],"cmd":"touch ran"}]}' >jobs.json
    run -255 --separate-stderr poolrun submit -f jobs.json
    [ "$stderr" = 'poolrun: submit: jobs.json:1:50: tasks[1].after[0]: a task'"'"'s "after" is for poolrun -f and --json: use submit --after ID' ]
    echo '{"after":["a"],"cmd":"touch ran"}' >lines
    run -255 --separate-stderr poolrun submit --json <lines
    [ "$stderr" = 'poolrun: submit: stdin:1:11: after[0]: a task'"'"'s "after" is for poolrun -f and --json: use submit --after ID' ]
}
