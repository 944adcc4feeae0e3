#!/usr/bin/env bats
# JSON job files (-f) and JSON Lines (--json): the schema, strict
# validation before anything runs, env, cwd, and the queue's orders.
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

@test "a job file runs its tasks: cmd through the shell, argv directly" {
    cat >jobs.json <<'JSON'
{ "tasks": [
    { "id": "shell", "cmd": "echo \"$((1 + 2))\"" },
    { "id": "direct", "argv": ["printf", "[%s]\n", "$(no) 'q' *"] }
] }
JSON
    run -0 poolrun -k -f jobs.json
    [ "$output" = $'3\n[$(no) \'q\' *]' ]
}

@test "several job files run one after the other" {
    echo '{"tasks":[{"cmd":"echo one"}]}' >a.json
    echo '{"tasks":[{"cmd":"echo two"}]}' >b.json
    run -0 poolrun -k -f a.json -f b.json
    [ "$output" = $'one\ntwo' ]
}

@test "jobs in the file sets the pool size and -j overrides it" {
    echo '{"jobs":1,"tasks":[{"cmd":"echo $POOLRUN_SLOT"},{"cmd":"echo $POOLRUN_SLOT"},{"cmd":"echo $POOLRUN_SLOT"}]}' >j.json
    run -0 poolrun -f j.json
    [ "$(sort -u <<<"$output")" = 1 ]
    # Three tasks that wait for each other finish only if all run at once.
    cat >k.json <<'JSON'
{"jobs":1,"tasks":[
 {"cmd":"touch s.1; i=0; while [ $(ls s.* | wc -l) -lt 3 ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done; [ $i -lt 1000 ]"},
 {"cmd":"touch s.2; i=0; while [ $(ls s.* | wc -l) -lt 3 ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done; [ $i -lt 1000 ]"},
 {"cmd":"touch s.3; i=0; while [ $(ls s.* | wc -l) -lt 3 ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done; [ $i -lt 1000 ]"}]}
JSON
    run -0 poolrun -j 3 -f k.json
}

@test "env adds to the environment, null removes, task values override defaults" {
    cat >e.json <<'JSON'
{ "defaults": { "env": { "A": "from-defaults", "B": "b" } },
  "tasks": [
    { "cmd": "echo \"$A $B ${HOME:+home} ${GONE:-gone}\"" },
    { "cmd": "echo \"$A ${B:-unset}\"", "env": { "A": "from-task", "B": null } }
] }
JSON
    GONE=x run -0 "$POOLRUN" -k -f e.json
    [ "${lines[0]}" = "from-defaults b home x" ]
    [ "${lines[1]}" = "from-task unset" ]
    echo '{"tasks":[{"cmd":"echo ${GONE:-gone}","env":{"GONE":null}}]}' >g.json
    GONE=x run -0 "$POOLRUN" -f g.json
    [ "$output" = gone ]
}

@test "cwd is relative to the job file's folder" {
    mkdir -p proj/sub
    echo '{"defaults":{"cwd":"sub"},"tasks":[{"cmd":"pwd"},{"cmd":"pwd","cwd":"."}]}' >proj/j.json
    run -0 poolrun -k -f proj/j.json
    [ "${lines[0]}" = "$PWD/proj/sub" ]
    [ "${lines[1]}" = "$PWD/proj" ]
}

@test "a missing cwd is that task's error with exit 126, not poolrun's" {
    echo '{"tasks":[{"id":"lost","cmd":"echo no","cwd":"nowhere"},{"cmd":"echo yes"}]}' >j.json
    run -1 --separate-stderr poolrun -k -f j.json --joblog log
    [ "$output" = yes ]
    [[ $stderr == *"task 1 (lost): cannot enter its cwd ./nowhere: no such file or directory"* ]]
    [ "$(awk -F'\t' '$1 == 1 {print $7}' log)" = 126 ]
}

@test "invalid JSON is refused with line and column" {
    refused $'{\n  "tasks": [\n    {"cmd": }\n  ]\n}' '3:13: invalid JSON (or bytes after the value)'
}

@test "bytes after the value are refused" {
    refused '{"tasks":[{"cmd":"touch ran"}]} x' '1:33: invalid JSON (or bytes after the value)'
}

@test "a duplicate key is refused" {
    refused '{"tasks":[{"cmd":"touch ran","cmd":"touch ran"}]}' '1:30: tasks[0]: duplicate key "cmd"'
}

@test "\\u0000 in a string is refused" {
    refused '{"tasks":[{"cmd":"touch ran\u0000x"}]}' '1:28: tasks[0].cmd: \u0000 is not allowed in a string'
}

@test "invalid UTF-8 is refused" {
    refused $'{"tasks":[{"cmd":"touch ran \xff"}]}' '1:29: tasks[0].cmd: invalid UTF-8 in a string'
}

@test "a wrong type is refused with the field's path and line" {
    refused $'{"tasks": [\n  {"cmd": "touch ran"},\n  {"cmd": ["x"]}\n]}' '3:11: tasks[1].cmd: must be a string'
}

@test "a negative timeout is refused" {
    refused $'{"tasks":[\n {"cmd":"touch ran","timeout":-1}]}' '2:31: tasks[0].timeout: must be a number of seconds from 0 to 1000000000'
}

@test "a number too large to represent is refused" {
    refused '{"tasks":[{"cmd":"touch ran","timeout":1e400}]}' '1:40: tasks[0].timeout: must be a number of seconds from 0 to 1000000000'
}

@test "a fraction or an out-of-range count is refused" {
    refused '{"tasks":[{"cmd":"touch ran","retries":1.5}]}' '1:40: tasks[0].retries: must be a whole number from 0 to 1000'
    refused '{"jobs":-2,"tasks":[{"cmd":"touch ran"}]}' '1:9: jobs: must be a whole number from 0 to 100000'
    refused '{"tasks":[{"cmd":"touch ran","priority":1e12}]}' '1:41: tasks[0].priority: must be a whole number from -1000000000 to 1000000000'
}

@test "both or neither of cmd and argv are refused" {
    refused '{"tasks":[{"cmd":"touch ran","argv":["touch","ran"]}]}' '1:11: tasks[0]: needs exactly one of "cmd" and "argv"'
    refused '{"tasks":[{"id":"x"}]}' '1:11: tasks[0]: needs exactly one of "cmd" and "argv"'
}

@test "an unknown field is refused, so a typo never passes" {
    refused '{"tasks":[{"cmd":"touch ran","tmeout":5}]}' '1:39: tasks[0].tmeout: unknown field'
    refused '{"taks":[]}' '1:9: taks: unknown field'
    refused '{"defaults":{"cmd":"x"},"tasks":[{"cmd":"touch ran"}]}' '1:20: defaults.cmd: unknown field (defaults may hold env, cwd, timeout, retries, retry_on, priority, daemon, on_done and on_fail)'
}

@test "a duplicate id is refused, across files too" {
    echo '{"tasks":[{"id":"build","cmd":"touch ran"}]}' >a.json
    echo '{"tasks":[{"id":"build","cmd":"touch ran"}]}' >b.json
    run -255 --separate-stderr poolrun -f a.json -f b.json
    [ "$stderr" = 'poolrun: b.json:1:17: task id "build" is used twice (first at a.json:1:17)' ]
    [ ! -e ran ]
    # Within one file, on its own lines.
    printf '{"tasks": [\n  {"id": "x", "cmd": "true"},\n  {"id": "x", "cmd": "true"}\n]}\n' >c.json
    run -255 --separate-stderr poolrun -f c.json
    [ "$stderr" = 'poolrun: c.json:3:10: task id "x" is used twice (first at c.json:2:10)' ]
}

@test "a missing job file is refused" {
    run -255 --separate-stderr poolrun -f nope.json
    [ "$stderr" = "poolrun: nope.json: no such file or directory" ]
}

@test "fields of later features are checked now" {
    refused '{"tasks":[{"cmd":"touch ran","daemon":"yes"}]}' '1:39: tasks[0].daemon: must be true or false'
    refused '{"tasks":[{"cmd":"touch ran","on_fail":""}]}' '1:40: tasks[0].on_fail: must not be empty'
    refused '{"tasks":[{"cmd":"touch ran","input":7}]}' '1:38: tasks[0].input: must be a string'
}

@test "--json reads task objects line by line; a bad line stops reading" {
    run -255 --separate-stderr bash -c 'printf "%s\n" "{\"cmd\":\"echo one\"}" "" "{\"argv\":[\"echo\",\"three\"]}" "{\"cmd\": 5}" "{\"cmd\":\"touch ran\"}" | "$POOLRUN" -k --json'
    [ "$output" = $'one\nthree' ]
    [[ $stderr == *"poolrun: <stdin>:4:9: cmd: must be a string"* ]]
    [ ! -e ran ]
}

@test "a COMMAND with -f is refused" {
    echo '{"tasks":[]}' >j.json
    run -255 --separate-stderr poolrun -f j.json echo
    [[ $stderr == *"no COMMAND or ::: with -f or --json"* ]]
}

@test "--order priority starts higher priorities first, ties in input order" {
    mkfifo gate
    cat >p.json <<'JSON'
{"jobs":1,"tasks":[
 {"cmd":"read x < gate; echo first"},
 {"cmd":"echo low","priority":1},
 {"cmd":"echo high-a","priority":9},
 {"cmd":"echo mid","priority":5},
 {"cmd":"echo high-b","priority":9}]}
JSON
    "$POOLRUN" -f p.json --order priority >out &
    pid=$!
    # The whole file is queued before the first task starts, so the first
    # (priority 0) runs last.
    echo go >gate
    wait_status "$pid" 0
    [ "$(cat out)" = $'high-a\nhigh-b\nmid\nlow\nfirst' ]
}

@test "--order lifo starts the newest waiting task first" {
    mkfifo gate
    printf '%s\n' 'read x < gate; echo first' 'echo 2' 'echo 3' 'echo 4' >lines
    "$POOLRUN" -j 1 --order lifo <lines >out &
    pid=$!
    # One read takes all four lines while the first task waits.
    echo go >gate
    wait_status "$pid" 0
    [ "$(cat out)" = $'first\n4\n3\n2' ]
}

@test "the jobs/ examples run" {
    cd "$PR_SRC"
    run -0 "$POOLRUN" -f jobs/demo.json
    [[ $output == *"hello from task 1"* ]]
    run -0 "$POOLRUN" -k -f jobs/ci.json
    [ "$output" = $'lint: no gets()\nbuilt\ntest: passed\nCFLAGS=-Wall -Wextra -O2 HOME-set=yes' ]
    run -0 sh jobs/map-over-files.sh "$POOLRUN"
    [ "${lines[0]}" = $'jobs/files/a.txt\t2 jobs/files/a.txt' ]
    [ "${lines[1]}" = $'jobs/files/b c.txt\t3 jobs/files/b c.txt' ]
}

@test "a control character outside a string is refused (cJSON would skip it)" {
    refused $'{"tasks":[\a{"cmd":"touch ran"}]}' '1:11: invalid JSON: control character 0x07'
}

@test "--order fifo (the default) starts waiting tasks in input order" {
    mkfifo gate
    printf '%s\n' 'read x < gate; echo first' 'echo 2' 'echo 3' 'echo 4' >lines
    "$POOLRUN" -j 1 --order fifo <lines >out &
    pid=$!
    echo go >gate
    wait_status "$pid" 0
    [ "$(cat out)" = $'first\n2\n3\n4' ]
    "$POOLRUN" -j 1 --order priority <lines >out2 &
    pid=$!
    echo go >gate
    wait_status "$pid" 0
    # Equal priorities keep input order.
    [ "$(cat out2)" = $'first\n2\n3\n4' ]
}

@test "a task that sets its own PATH finds its command there" {
    mkdir bin
    printf '#!/bin/sh\necho "mine: $*"\n' >bin/mytool
    chmod +x bin/mytool
    cat >p.json <<JSON
{"tasks":[
 {"argv":["mytool","a b"],"env":{"PATH":"$PWD/bin:/usr/bin:/bin"}},
 {"cmd":"mytool x; exit 4","env":{"PATH":"$PWD/bin:/usr/bin:/bin"}},
 {"cmd":"sleep 1000 & echo \$! > bg.pid","env":{"PATH":"/usr/bin:/bin"}}]}
JSON
    run -1 --separate-stderr poolrun -k -f p.json
    [ "$output" = $'mine: a b\nmine: x' ]
    # The leftover of the third task is ended on this path too.
    not_alive "$(cat bg.pid)"
}
