#!/usr/bin/env bats
# A stdout that cannot take more (a full pipe, a reader that is slow or
# never reads) never stops poolrun's loop: signals and timeouts act at once,
# other tasks go on, and a slow reader still gets every byte in order.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
    mkfifo out go
    seq 300000 >big
    cleanup=()
}

# A reader that goes away lets even a poolrun stuck in write() see EPIPE,
# act on its SIGTERM and end its tasks; SIGKILL only if it does not.
teardown() {
    local p
    for p in "${cleanup[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${cleanup[@]}"; do
        wait_for 10 not_alive "$p" || kill -9 "$p" 2>/dev/null || true
    done
    if [ -n "${cleanup_dir:-}" ]; then
        rm -rf "$cleanup_dir"
    fi
}

# A reader of the fifo `out` that never reads.
stuck_reader() {
    sleep 1000 <out >/dev/null 2>&1 3>&- &
    cleanup+=("$!")
}

# A reader that never reads; the file `full` appears once its pipe holds a
# pipe's worth (64 KiB, FIONREAD): a writer waits from then on.  Reads the
# fifo `out`, or with `-p` the pipe it is started on.
full_reader() {
    local script='
        while (1) {
            my $n = pack("L", 0);
            ioctl(STDIN, 0x541B, $n) or die "FIONREAD: $!";
            last if unpack("L", $n) >= 65536;
            select(undef, undef, undef, 0.01);
        }
        open(my $f, ">", "full") or die;
        close($f);
        sleep 1000;'
    if [ "${1:-}" = -p ]; then
        exec perl -e "$script" >/dev/null 2>&1 3>&-
    fi
    perl -e "$script" <out >/dev/null 2>&1 3>&- &
    cleanup+=("$!")
}

# A reader of the fifo `out` that reads nothing until a line arrives on the
# fifo `go`, then reads everything slowly into `got`.
gated_reader() {
    (
        read -r _ <go
        exec perl -e '
            while (my $n = sysread(STDIN, my $b, 8192)) {
                syswrite(STDOUT, $b);
                select(undef, undef, undef, 0.0005);
            }' >got
    ) <out 2>/dev/null 3>&- &
    reader=$!
    cleanup+=("$reader")
}

# Before task 2 goes on, task 1 writes 32 pages (head writes whole pages):
# stdout is a pipe of 16 pages and the task's own pipe holds 16 more, so
# both are full when it gets this far, whether poolrun moves the pages on
# with splice (holding none) or has read one more (it then stops reading
# the task).  33 pages got through only when poolrun held a page, and hung
# the test when it spliced.
fill='head -c 131072 /dev/zero'
# Task 1 writes `big` (seq 300000); once stdout is full, task 2 goes on.
task1='head -c 131072 big; touch half; tail -c +131073 big; echo $$ >pid.tmp; mv pid.tmp pid'
task2='until [ -e half ]; do sleep 0.01; done'

# Starts poolrun with ARGS, the lines of the file `lines` on its stdin and
# its stdout on the fifo `out`; $pid is its pid.
start_poolrun() {
    "$POOLRUN" "$@" <lines >out 2>err &
    pid=$!
    cleanup+=("$pid")
}

@test "SIGTERM ends poolrun and its tasks at once while nobody reads its stdout" {
    stuck_reader
    printf 'head -c 1000000 /dev/zero\necho $$ >pid.tmp; mv pid.tmp pid; exec sleep 1000\n' >lines
    start_poolrun -j 2 --joblog log
    # Task 1 has ended: its output waits for the reader.
    wait_for 20 joblog_has_rows log 1
    wait_for 20 all_exist pid
    kill -TERM "$pid"
    wait_for 10 not_alive "$pid"
    wait_status "$pid" 143
    not_alive "$(cat pid)"
    grep -qx 'poolrun: 2 tasks: 1 ok, 1 killed' err
}

@test "SIGINT ends poolrun at once while -k streams into a full pipe" {
    stuck_reader
    printf '%s; touch half; sleep 1000\necho $$ >pid.tmp; mv pid.tmp pid; exec sleep 1000\n' \
        "$fill" >lines
    start_poolrun -j 2 -k
    wait_for 20 all_exist half pid
    kill -INT "$pid"
    wait_for 10 not_alive "$pid"
    wait_status "$pid" 130
    not_alive "$(cat pid)"
}

@test "a --timeout ends its task on time while stdout is blocked" {
    gated_reader
    printf 'head -c 1000000 /dev/zero\nsleep 1000\n' >lines
    start_poolrun -j 2 --timeout 1 --results res
    wait_for 10 grep -q '"seq":2,.*"status":"timeout"' res
    echo >go
    wait_status "$pid" 1
    wait "$reader"
    [ "$(wc -c <got)" -eq 1000000 ]
}

@test "grouped output: a slow reader gets every byte in order, after tasks that ended meanwhile" {
    gated_reader
    printf 'seq 300000\necho two\necho three\n' >lines
    start_poolrun -j 1 --buffer-size 64K --joblog log
    # Every task has ended while nothing was read.
    wait_for 20 joblog_has_rows log 3
    echo >go
    wait_status "$pid" 0
    wait "$reader"
    { seq 300000; echo two; echo three; } >expected
    cmp expected got
}

@test "-k: the oldest task waits in its own write, the next one ends, and a slow reader gets both in order" {
    gated_reader
    printf '%s\n%s; echo two\n' "$task1" "$task2" >lines
    start_poolrun -j 2 -k --joblog log
    wait_for 20 joblog_has_rows log 1
    [ "$(joblog_rows log | cut -f1)" = 2 ]
    [ ! -e pid ]
    echo >go
    wait_status "$pid" 0
    wait "$reader"
    { cat big; echo two; } >expected
    cmp expected got
}

@test "-u: a task whose output waits is not read meanwhile, and its bytes arrive intact" {
    gated_reader
    printf '%s\n%s\n' "$task1" "$task2" >lines
    start_poolrun -j 2 -u --joblog log
    wait_for 20 joblog_has_rows log 1
    [ "$(joblog_rows log | cut -f1)" = 2 ]
    [ ! -e pid ]
    echo >go
    wait_status "$pid" 0
    wait "$reader"
    cmp big got
}

# --line-buffer writes whole lines, so the pipe to the reader holds less
# than 16 full pages (a write that ends inside a page leaves the rest of it
# unused): task 1 counts only on its own pipe, 16 pages, before task 2 goes
# on; it then writes 2 MB more, far more than every buffer holds.
task1_lines='head -c 65536 big; touch half; tail -c +65537 big; echo $$ >pid.tmp; mv pid.tmp pid'

@test "--line-buffer: a slow reader gets whole lines, after a task that ended meanwhile" {
    gated_reader
    printf '%s\n%s; echo two\n' "$task1_lines" "$task2" >lines
    start_poolrun -j 2 --line-buffer --joblog log
    wait_for 20 joblog_has_rows log 1
    [ "$(joblog_rows log | cut -f1)" = 2 ]
    [ ! -e pid ]
    echo >go
    wait_status "$pid" 0
    wait "$reader"
    [ "$(grep -cx two got)" -eq 1 ]
    grep -vx two got >rest
    cmp big rest
}

@test "SIGTERM ends poolrun at once when stdout is another user's pipe that nobody reads" {
    [ "$(id -u)" -eq 0 ] || skip "needs root to run poolrun as another user"
    # A pipe (pipe(2)) poolrun cannot open again: it is root's, mode 0600.
    exec {pipe}> >(full_reader -p)
    cleanup+=("$!")
    printf 'head -c 1000000 /dev/zero\nsleep 1000\n' >lines
    setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$POOLRUN" -j 2 <lines >&"$pipe" 2>err &
    pid=$!
    cleanup+=("$pid")
    exec {pipe}>&-
    wait_for 20 all_exist full
    kill -TERM "$pid"
    wait_for 10 not_alive "$pid"
    wait_status "$pid" 143
    grep -qx 'poolrun: 2 tasks: 1 ok, 1 killed' err
}

@test "SIGTERM ends poolrun at once when stdout is another user's FIFO that nobody reads" {
    [ "$(id -u)" -eq 0 ] || skip "needs root to run poolrun as another user"
    full_reader
    printf 'head -c 1000000 /dev/zero\nsleep 1000\n' >lines
    # poolrun cannot open this FIFO again (it is root's, mode 0644).
    setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$POOLRUN" -j 2 <lines >out 2>err &
    pid=$!
    cleanup+=("$pid")
    wait_for 20 all_exist full
    kill -TERM "$pid"
    wait_for 10 not_alive "$pid"
    wait_status "$pid" 143
    grep -qx 'poolrun: 2 tasks: 1 ok, 1 killed' err
}

@test "another user's FIFO: a slow reader gets every byte in order, after tasks that ended meanwhile" {
    [ "$(id -u)" -eq 0 ] || skip "needs root to run poolrun as another user"
    # A place the other user can use (this test's own is root's alone).
    shared=$(mktemp -d)
    cleanup_dir=$shared
    chmod 777 "$shared"
    cp big "$shared/big"
    gated_reader
    printf 'cat %s/big\necho two\necho three\n' "$shared" >lines
    setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$POOLRUN" -j 1 --buffer-size 64K --joblog "$shared/log" <lines >out 2>err &
    pid=$!
    cleanup+=("$pid")
    wait_for 20 joblog_has_rows "$shared/log" 3
    echo >go
    wait_status "$pid" 0
    wait "$reader"
    { cat big; echo two; echo three; } >expected
    cmp expected got
}

@test "SIGTERM ends poolrun at once when its messages go to the same stuck pipe as its output (2>&1)" {
    stuck_reader
    printf 'head -c 1000000 /dev/zero\nexit 3\necho $$ >pid.tmp; mv pid.tmp pid; exec sleep 1000\n' >lines
    "$POOLRUN" -j 3 --joblog log <lines >out 2>&1 &
    pid=$!
    cleanup+=("$pid")
    # Task 2's failure is recorded: its message waits behind the output.
    wait_for 20 joblog_has_rows log 2
    wait_for 20 all_exist pid
    kill -TERM "$pid"
    wait_for 10 not_alive "$pid"
    wait_status "$pid" 143
    not_alive "$(cat pid)"
}

@test "--progress into the same stuck pipe as the output (2>&1) does not hold up SIGTERM" {
    stuck_reader
    printf 'head -c 1000000 /dev/zero\nexit 3\necho $$ >pid.tmp; mv pid.tmp pid; exec sleep 1000\n' >lines
    "$POOLRUN" -j 3 --progress --joblog log <lines >out 2>&1 &
    pid=$!
    cleanup+=("$pid")
    wait_for 20 joblog_has_rows log 2
    wait_for 20 all_exist pid
    kill -TERM "$pid"
    wait_for 10 not_alive "$pid"
    wait_status "$pid" 143
    not_alive "$(cat pid)"
}
