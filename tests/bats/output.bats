#!/usr/bin/env bats
# Output: grouped blocks, input order, whole lines, raw bytes, a closed or
# full stdout.  Tasks meet at fifos, so their order is fixed, not timed.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
    mkfifo g1 g2
}

# Task 1 prints, waits until task 2 has printed, prints again: written
# straight through, their lines would interleave.
overlapping_tasks() {
    cat <<'LINES'
echo a1; echo ea1 >&2; read x < g1; echo a2; echo ea2 >&2
read x < g2; echo b1; echo eb1 >&2; echo go > g1; echo b2; echo eb2 >&2
LINES
}

@test "grouped output keeps each task's stdout and stderr in one block" {
    overlapping_tasks >lines
    # Task 1 writes first, then lets task 2 write.
    sed -i '1s/read x < g1/echo go > g2; read x < g1/' lines
    run -0 --separate-stderr poolrun -j 2 <lines
    [[ $output == $'b1\nb2\na1\na2' || $output == $'a1\na2\nb1\nb2' ]]
    [[ $stderr == $'eb1\neb2\nea1\nea2' || $stderr == $'ea1\nea2\neb1\neb2' ]]
}

@test "--keep-order prints blocks in input order" {
    overlapping_tasks >lines
    sed -i '1s/read x < g1/echo go > g2; read x < g1/' lines
    run -0 --separate-stderr poolrun -j 2 -k <lines
    [ "$output" = $'a1\na2\nb1\nb2' ]
    [ "$stderr" = $'ea1\nea2\neb1\neb2' ]
}

@test "--line-buffer passes a line on while its task still runs" {
    mkfifo out
    "$POOLRUN" --line-buffer <<<$'echo first; read x < g1; echo last' >out &
    pid=$!
    exec {r}<out
    read -r -u "$r" line
    [ "$line" = first ]
    echo go >g1
    read -r -u "$r" line
    [ "$line" = last ]
    wait "$pid"
}

@test "--line-buffer never splits a line between tasks" {
    cat >lines <<'LINES'
printf 'par'; echo go > g1; read x < g2; echo 'tial'
read x < g1; echo whole; echo go > g2
LINES
    # Which pipe poolrun reads first is not fixed, so only the lines are:
    # written straight through they would come out as "parwhole", "tial".
    run -0 poolrun -j 2 --line-buffer <lines
    [ "$(sort <<<"$output")" = $'partial\nwhole' ]
}

@test "--ungroup passes bytes on at once, without waiting for a newline" {
    mkfifo out
    "$POOLRUN" -u <<<$'printf no-newline; read x < g1; printf " done"' >out &
    pid=$!
    exec {r}<out
    read -r -N 10 -u "$r" got
    [ "$got" = no-newline ]
    echo go >g1
    IFS= read -r -u "$r" rest || true
    [ "$rest" = " done" ]
    wait "$pid"
}

@test "output larger than the buffer spills to a file and arrives intact" {
    run -0 bash -c 'printf "head -c 3000000 /dev/zero | tr \"\\\\0\" x\necho small\n" |
        "$POOLRUN" -k --buffer-size 64K | md5sum'
    expected=$( (head -c 3000000 /dev/zero | tr '\0' x; echo small) | md5sum)
    [ "$output" = "$expected" ]
}

@test "-u and -k pass large output on intact to a pipe, a file and a file opened to append" {
    # Output that goes out as it comes is moved with splice(2) when the
    # sink is a pipe and written when it is a file; the bytes must not
    # differ.
    cat >tasks <<'LINES'
seq 1 400000
seq 400001 700000 >&2
seq 700001 1000000
LINES
    seq 1 400000 >want.out; seq 700001 1000000 >>want.out
    seq 400001 700000 >want.err
    for mode in -u -k; do
        "$POOLRUN" -j 1 $mode --joblog log <tasks 2>err | cat >got
        cmp got want.out
        cmp err want.err
        [ "$(joblog_rows log | sort -n | cut -f6 | tr '\n' ' ')" = "2688895 0 2100001 " ]
        "$POOLRUN" -j 1 $mode <tasks >got 2>err
        cmp got want.out
        cmp err want.err
        echo start >got
        "$POOLRUN" -j 1 $mode <tasks >>got 2>>err
        (echo start; cat want.out) | cmp got -
    done
    # Two at a time with -k: the second task's output waits, then follows.
    "$POOLRUN" -j 2 -k <tasks 2>/dev/null | cat >got
    cmp got want.out
}

@test "a closed stdout stops -u and -k output that is passed on whole" {
    for mode in -u -k; do
        run --separate-stderr bash -c 'printf "yes\nyes\n" | "$POOLRUN" -j 2 '$mode' | head -1; echo "${PIPESTATUS[1]}"'
        [ "${lines[0]}" = y ]
        [ "${lines[1]}" = 141 ]
    done
}

@test "a closed stdout stops the run with status 141" {
    run --separate-stderr bash -c 'yes "echo hi" | "$POOLRUN" -j 2 | head -1; echo "${PIPESTATUS[1]}"'
    [ "${lines[0]}" = hi ]
    [ "${lines[1]}" = 141 ]
}

@test "a closed stdout stops the run even when the caller ignores SIGPIPE" {
    run --separate-stderr bash -c 'trap "" PIPE; yes "echo hi" | "$POOLRUN" -j 2 | head -1; echo "${PIPESTATUS[1]}"'
    [ "${lines[0]}" = hi ]
    [ "${lines[1]}" = 141 ]
}

@test "a closed stdout stops tasks that never write" {
    # The second task would run for 1000 s; poolrun must notice the reader
    # leaving without writing, stop it and exit.
    run --separate-stderr bash -c 'printf "echo hi\nsleep 1000\n" | "$POOLRUN" -j 2 --joblog log | head -1; echo "${PIPESTATUS[1]}"'
    [ "${lines[0]}" = hi ]
    [ "${lines[1]}" = 141 ]
    [ "$(awk -F'\t' '$1 == 2 {print $8}' log)" = 15 ]
}

@test "a write error on stdout is reported and exits 255" {
    run -255 --separate-stderr bash -c 'echo "echo hi" | "$POOLRUN" >/dev/full'
    [[ $stderr == *"poolrun: writing standard output: no space left on device"* ]]
}

@test "a closed stdout descriptor is reported, not ignored" {
    run -255 --separate-stderr bash -c 'echo "echo hi" | "$POOLRUN" >&-'
    [[ $stderr == *"writing standard output"* ]]
}

@test "--keep-order starts no task more than a window past the oldest running" {
    # Window = --queue-size + --jobs = 3 + 2: while task 1 waits, only tasks
    # 2 to 5 may start.  Each task notes its start; task 1 notes its end.
    {
        echo 'echo "start 1" >> events; read x < g1; echo "end 1" >> events'
        seq 2 30 | sed 's/.*/echo "start &" >> events/'
    } >lines
    "$POOLRUN" -k -j 2 --queue-size 3 --joblog log <lines >out &
    pid=$!
    # Tasks 2 to 5 have ended (their joblog rows are written).
    wait_for 20 joblog_has_rows log 4
    echo go >g1
    wait_status "$pid" 0
    # Every start after 5 comes after the end of task 1.
    run awk '$1 == "end" {ended = 1} $1 == "start" && $2 > 5 && !ended {bad = 1} END {exit bad}' events
    [ "$status" -eq 0 ]
    [ "$(grep -c '^start' events)" -eq 30 ]
}

@test "captured output stays within a memory budget while -k holds tasks back" {
    [ -z "${PR_SANITIZED:-}" ] || skip "sanitizers change the memory used"
    [ -x /usr/bin/time ] || skip "GNU time is not installed"
    # Task 1 waits while 40 tasks of 1 MiB each finish and must wait for it.
    { echo 'read x < g1; echo first'; seq 40 | sed 's/.*/head -c 1048576 \/dev\/zero/'; } >lines
    /usr/bin/time -f %M -o rss "$POOLRUN" -k -j 2 --joblog log <lines >out &
    pid=$!
    wait_for 30 joblog_has_rows log 40
    echo go >g1
    wait_status "$pid" 0
    [ "$(wc -c <out)" -eq $((40 * 1048576 + 6)) ]
    [ "$(head -c 6 out)" = first ]
    # 40 MiB went through; peak RSS stays under 16 MiB.
    [ "$(tail -n 1 rss)" -lt 16384 ]
}

@test "a full disk for the temporary files: the lost bytes are reported, the other tasks go on" {
    [ "$(id -u)" -eq 0 ] || skip "needs root to mount a small tmpfs"
    mkdir tiny
    mount -t tmpfs -o size=64k tmpfs tiny || skip "cannot mount a tmpfs here"
    printf '%s\n' 'head -c 300000 /dev/zero | tr "\0" a; echo' 'echo small' >lines
    # -j 1 without -k: task 1's output is captured (with -k the oldest
    # task's output would go straight out).
    run -255 --separate-stderr env TMPDIR="$PWD/tiny" "$POOLRUN" -j 1 --buffer-size 16K <lines
    umount tiny
    # 64 KiB reached the file; the other 234,465 bytes (its newline too)
    # are counted as lost; task 2's output follows whole.
    [ "${#output}" -eq $((65536 + 5)) ]
    [ "${output: -5}" = small ]
    [[ $stderr == *"task 1: 234465 bytes of its stdout were lost: cannot write a temporary file: no space left on device"* ]]
    [[ $stderr == *"the output of 1 task was cut short"* ]]
}

@test "--line-buffer -k: the oldest task's lines come at once, the rest in input order" {
    printf '%s\n' 'echo one-start; until [ -e go ]; do sleep 0.01; done; echo one-end' \
        'echo two; touch two.done' >lines
    "$POOLRUN" -j 2 --line-buffer -k <lines >out 2>err &
    pid=$!
    # Task 1's first line is out while it runs; task 2, done, waits.
    wait_for 20 grep -qx one-start out
    wait_for 20 test -e two.done
    [ "$(cat out)" = one-start ]
    touch go
    wait_status "$pid" 0
    [ "$(cat out)" = "$(printf 'one-start\none-end\ntwo')" ]
}

@test "the output of tasks that end in one loop turn goes to stdout in one write, every byte of it" {
    command -v strace >/dev/null || skip "no strace"
    # LeakSanitizer cannot run under ptrace.
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
    seq 2000 >items
    # cat answers the 64 lines it is sent at once with one write, so 64
    # tasks end in each loop turn of poolrun.
    strace -o trace -e trace=write "$POOLRUN" -j 2 --inflight 64 --workers 'exec cat' -a items >out
    sort -n out | cmp items -
    # One write per task would be 2,000.
    [ "$(grep -c '^write(1,' trace)" -lt 500 ]
}
