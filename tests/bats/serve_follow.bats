#!/usr/bin/env bats
# poolrun log --follow and submit --wait: a task's output as it comes.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    load serve_helpers
    serve_setup
}

teardown() {
    serve_teardown
    # A sanitized service says at its end what it leaked or broke (a
    # follower that went away must leave nothing behind).
    if [ -e "$BATS_TEST_TMPDIR/serve.out" ] &&
        grep -aE 'Sanitizer|runtime error' "$BATS_TEST_TMPDIR/serve.out" >&2; then
        return 1
    fi
}


# in_read PID: the process sleeps in read(2) or poll(2): a client whose
# request has gone out, waiting for the service's answer.
in_read() {
    local nr rest
    read -r nr rest <"/proc/$1/syscall" || return 1
    case $(uname -m) in
    x86_64) [ "$nr" = 0 ] || [ "$nr" = 7 ] || [ "$nr" = 271 ] ;;
    aarch64) [ "$nr" = 63 ] || [ "$nr" = 73 ] ;;
    *) return 1 ;;
    esac
}

@test "log --follow prints what a running task wrote so far, then the rest as it comes, each byte once" {
    start_service
    mkfifo gate
    run -0 poolrun submit sh -c 'echo a; echo e1 >&2; : > wrote; read x < gate; echo b; echo e2 >&2; exit 5'
    wait_for 10 test -e wrote
    "$POOLRUN" log 1 --follow >out 2>err &
    follower=$!
    # What it had written has come: the follower is there.
    wait_for 10 grep -qx e1 err
    echo go >gate
    wait_status "$follower" 5
    [ "$(cat out)" = "$(printf 'a\nb')" ]
    [ "$(cat err)" = "$(printf 'e1\ne2')" ]
}

@test "log --follow sends what the task wrote before it came, also what went to a spill file" {
    start_service --buffer-size 64K
    mkfifo gate
    run -0 poolrun submit sh -c 'seq 200000; : > wrote; read x < gate; echo end'
    wait_for 10 test -e wrote
    "$POOLRUN" log 1 --follow >out &
    follower=$!
    wait_for 10 grep -qx 200000 out
    echo go >gate
    wait_status "$follower" 0
    { seq 200000; echo end; } >expected
    cmp expected out
}

@test "log --follow of a queued task waits for it to start, then prints all it writes, past --results-limit" {
    start_service -j 1 --results-limit 4
    mkfifo gate
    run -0 poolrun submit sh -c 'read x < gate'
    run -0 poolrun submit sh -c 'echo "all of this line"'
    "$POOLRUN" log 2 --follow >out &
    follower=$!
    wait_for 10 in_read "$follower"
    echo go >gate
    wait_status "$follower" 0
    [ "$(cat out)" = "all of this line" ]
    # What is kept for log is capped.
    run -0 poolrun log 2
    [ "$output" = "all " ]
}

@test "log --follow of a finished task prints what log prints and exits with its status" {
    start_service
    run -0 poolrun submit --id done sh -c 'echo out; echo err >&2; exit 4'
    run -4 poolrun wait done
    run -4 --separate-stderr poolrun log done --follow
    [ "$output" = "out" ]
    [ "$stderr" = "err" ]
    run -4 --separate-stderr poolrun log -f done
    [ "$output" = "out" ]
}

@test "log --follow of a task the service does not know is an error" {
    start_service
    run -255 poolrun log nosuch --follow
    [ "$output" = "poolrun: log: log: no such task" ]
    run -255 poolrun log --follow
    [ "$output" = "poolrun: log: which task id? (log ID [--follow])" ]
}

@test "submit --wait shows a task's output as it comes, as running the command would" {
    start_service
    mkfifo gate
    "$POOLRUN" submit --wait sh -c 'echo a; read x < gate; echo b; exit 3' >out &
    client=$!
    wait_for 10 grep -qx a out
    echo go >gate
    wait_status "$client" 3
    [ "$(cat out)" = "$(printf 'a\nb')" ]
}

@test "submit --wait of several tasks prints each one's output in turn and exits with the count of failures" {
    start_service -j 3
    printf 'echo 1\nexit 1\necho 3; exit 2\n' >lines
    run -2 --separate-stderr poolrun submit --wait <lines
    [ "$output" = "$(printf '1\n3')" ]
}

@test "a NUL byte and bytes that are not UTF-8 come out of submit --wait, log --follow and log as the task wrote them" {
    start_service
    printf 'a\0b\377c\n\303\251\n' >expected
    printf '\0\376' >expected_err
    poolrun submit --id bin --wait sh -c 'printf "a\0b\377c\n\303\251\n"; printf "\0\376" >&2' >out 2>err
    cmp expected out
    cmp expected_err err
    poolrun log bin --follow >out2 2>err2
    cmp expected out2
    cmp expected_err err2
    poolrun log bin >out3 2>err3
    cmp expected out3
    cmp expected_err err3
}

@test "a follower that stops reading while its task writes 10 MB: the service answers, and the follower is told what it missed" {
    start_service
    mkfifo gate
    run -0 poolrun submit sh -c 'read x < gate; head -c 10000000 /dev/zero; echo end'
    "$POOLRUN" log 1 --follow >out 2>err &
    follower=$!
    wait_for 10 in_read "$follower"
    kill -STOP "$follower"
    echo go >gate
    run -0 poolrun wait 1
    run -0 poolrun status
    kill -CONT "$follower"
    wait_status "$follower" 0
    got=$(wc -c <out)
    [ "$got" -lt 10000004 ]
    grep -q '^poolrun: log: task 1: [0-9]* bytes of its stdout left out: more than 4 MiB waited' err
    # What came and what was left out add up to every byte it wrote.
    left=$(grep -o '[0-9]* bytes of its stdout left out' err | awk '{ s += $1 } END { print s }')
    [ $((got + left)) -eq 10000004 ]
}

@test "Ctrl-C of a follower leaves its task alone" {
    start_service
    mkfifo gate
    run -0 poolrun submit sh -c 'echo a; read x < gate; echo done > done'
    env --default-signal=INT "$POOLRUN" log 1 --follow >out &
    follower=$!
    wait_for 10 grep -qx a out
    kill -INT "$follower"
    wait_status "$follower" 130
    echo go >gate
    run -0 poolrun wait 1
    [ "$(cat done)" = "done" ]
}

@test "a follower killed mid-follow: its task goes on, and a new follower gets everything" {
    start_service
    mkfifo gate
    run -0 poolrun submit sh -c 'echo a; read x < gate; head -c 1000000 /dev/zero; echo end'
    "$POOLRUN" log 1 --follow >out &
    follower=$!
    wait_for 10 grep -qx a out
    kill -9 "$follower"
    wait_status "$follower" 137
    "$POOLRUN" log 1 --follow >out2 &
    again=$!
    wait_for 10 grep -qx a out2
    echo go >gate
    wait_status "$again" 0
    [ "$(wc -c <out2)" -eq 1000006 ]
    run -0 poolrun status
}

@test "two followers of one task each get all of its output once" {
    start_service
    mkfifo gate1 gate2
    run -0 poolrun submit sh -c 'read x < gate1; echo one; read x < gate2; echo two'
    "$POOLRUN" log 1 --follow >out1 &
    first=$!
    wait_for 10 in_read "$first"
    echo go >gate1
    wait_for 10 grep -qx one out1
    "$POOLRUN" log 1 --follow >out2 &
    second=$!
    wait_for 10 grep -qx one out2
    echo go >gate2
    wait_status "$first" 0
    wait_status "$second" 0
    [ "$(cat out1)" = "$(printf 'one\ntwo')" ]
    [ "$(cat out2)" = "$(printf 'one\ntwo')" ]
}

@test "log --help and submit --help tell of following" {
    run -0 poolrun log --help
    [[ "$output" == *"--follow"* ]]
    run -0 poolrun submit --help
    [[ "$output" == *"as it comes"* ]]
}
