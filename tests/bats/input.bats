#!/usr/bin/env bats
# Reading input: streaming, backpressure, long and odd lines.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
}

# The producer is blocked writing into a full pipe, or has written it all.
blocked_or_done() {
    grep -q pipe_write "/proc/$1/wchan" 2>/dev/null || [ -e producer-done ]
}

@test "a line runs as soon as it arrives, before the producer is done" {
    mkfifo in
    "$POOLRUN" <in >out &
    pid=$!
    exec {w}>in
    echo 'echo first > first.txt' >&$w
    # The producer is still open: the first task must finish anyway.
    wait_for 20 test -s first.txt
    echo 'echo second' >&$w
    exec {w}>&-
    wait "$pid"
    [ "$(cat out)" = second ]
}

@test "reading pauses while the queue is full" {
    mkfifo in gate
    # The first task waits at the gate; 200,000 more lines follow.
    python3 -c '
import sys
sys.stdout.write("read x < gate\n")
sys.stdout.write("true # ..............................\n" * 200000)
sys.stdout.flush()
open("producer-done", "w").close()' >in &
    producer=$!
    "$POOLRUN" -j 1 --queue-size 10 --joblog log <in >out 2>err &
    pid=$!
    # With backpressure the producer blocks on the full pipe; without it
    # poolrun would swallow all 8 MB and the producer would finish.
    wait_for 30 blocked_or_done "$producer"
    [ ! -e producer-done ]
    kill -TERM "$pid"
    wait_status "$pid" 143
    # Only the first task ran; the ten queued ones were skipped.
    [ "$(joblog_rows log | wc -l)" -le 2 ]
    kill "$producer" 2>/dev/null || true
}

@test "a line of 10 MB reaches the shell whole, and so do lines around it" {
    python3 -c '
import sys
sys.stdout.write("echo before\n")
sys.stdout.write("echo " + "z" * (10 * 1024 * 1024) + " | wc -c\n")
sys.stdout.write("echo after\n")' >big
    run -0 poolrun -k <big
    [ "${lines[0]}" = before ]
    [ "${lines[1]}" = $((10 * 1024 * 1024 + 1)) ]
    [ "${lines[2]}" = after ]
}

@test "a line just under and just over the argument limit both run" {
    for n in 131000 131100; do
        python3 -c "import sys; sys.stdout.write('v=' + 'a' * $n + '; echo \${#v}\n')"
    done >edge
    run -0 poolrun -k <edge
    [ "${lines[0]}" = 131000 ]
    [ "${lines[1]}" = 131100 ]
}

@test "input from a regular file, a pipe and a tty-less closed stdin all work" {
    printf 'echo from-file\n' >f
    run -0 poolrun <f
    [ "$output" = from-file ]
    run -0 bash -c 'printf "echo from-pipe\n" | "$POOLRUN"'
    [ "$output" = from-pipe ]
}

@test "stdin's flags are restored after reading a pipe" {
    # libuv makes a pipe it reads non-blocking; poolrun puts that back.
    run -0 bash -c '{ "$POOLRUN" <&7; python3 -c "
import fcntl, os
print(bool(fcntl.fcntl(7, fcntl.F_GETFL) & os.O_NONBLOCK))"; } 7< <(echo "echo ran")'
    [ "${lines[0]}" = ran ]
    [ "${lines[1]}" = False ]
}
