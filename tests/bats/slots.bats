#!/usr/bin/env bats
# Thousands of slots: a burst of starts does not hold back what the loop
# sees of the tasks that end meanwhile, and -j N makes room for N tasks'
# descriptors.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
    runner=""
    mkfifo gate
    mkdir pids
}

teardown() {
    # A test that failed half way may leave poolrun stopped, or running.
    if [ -n "$runner" ] && alive "$runner"; then
        kill -CONT "$runner" 2>/dev/null || true
        kill -9 "$runner" 2>/dev/null || true
    fi
}

# wave_lines N FROM: N lines of shell; each holds the read end of the fifo
# gate open, writes its pid to pids/FROM.., then waits for the gate's EOF.
# (A pid file may be empty for a moment: all_zombies then looks again.)
wave_lines() {
    local i
    for ((i = $2; i < $2 + $1; i++)); do
        echo "exec 4<gate; echo \$\$ > pids/$i; read x <&4 || :"
    done
}

# count_files DIR N: DIR holds N files.
count_files() {
    local f n=0
    for f in "$1"/*; do [ -e "$f" ] && n=$((n + 1)); done
    [ "$n" -eq "$2" ]
}

# started_or_refused N: N tasks have written their pid files, or poolrun
# has said that the system refused it a process or a descriptor (it then
# runs no more at once, and the fifo would wait for ever).
started_or_refused() {
    count_files pids "$1" || grep -q "cannot start another task" err
}

# skip_if_refused_a_process: the machine is out of processes (other users'
# share it), which no test of poolrun can help.
skip_if_refused_a_process() {
    if grep -q "cannot start another task (resource temporarily unavailable)" err; then
        skip "$(cat err)"
    fi
}

# stopped PID: the process has stopped (SIGSTOP has taken effect: a
# poll it was in has returned, with nothing, before it stopped).
stopped() {
    [[ $(ps -o stat= -p "$1" 2>/dev/null) == T* ]]
}

# all_zombies PIDFILE...: each process named has exited and not been
# reaped (its state in /proc, read without a process per pid).
all_zombies() {
    local f pid comm state
    for f in "$@"; do
        pid=$(<"$f")
        [ -n "$pid" ] || return 1
        read -r pid comm state _ <"/proc/$pid/stat" || return 1
        [ "$state" = Z ] || return 1
    done
}

@test "a task's recorded end is when it exited, not after the burst of starts that followed" {
    # 200 tasks wait on the fifo; 200 more (true) wait for their slots.
    # With poolrun stopped, the first 200 exit; once it goes on, its loop
    # sees 200 ends at once and starts 200 tasks.  A runtime that ended at
    # the task's record, made between those starts, ends after the first
    # of them (the last one, 199 spawns after); one that ends at the exit
    # the loop saw ends before them all.
    wave_lines 200 1 >lines
    for i in $(seq 200); do echo true; done >>lines
    # The test holds the fifo open for writing until it lets the wave go:
    # the tasks' opens never block, their reads see EOF when it closes.
    exec 5<>gate
    "$POOLRUN" -j 200 --results results.jsonl <lines 3>&- 5>&- >/dev/null 2>err &
    runner=$!
    wait_for 120 started_or_refused 200
    skip_if_refused_a_process
    # Refused a descriptor, poolrun would start the rest only after the
    # gate closed, and they would wait on it for ever: fail now.
    run -0 cat err
    [ "$output" = "" ]
    kill -STOP "$runner"
    wait_for 10 stopped "$runner"
    exec 5>&-
    wait_for 30 all_zombies pids/*
    kill -CONT "$runner"
    status=0
    wait "$runner" || status=$?
    runner=""
    [ "$status" -eq 0 ]
    [ "$(wc -l <results.jsonl)" -eq 400 ]
    last_end=$(jq -s '[.[] | select(.seq <= 200) | .start + .runtime] | max' results.jsonl)
    first_start=$(jq -s '[.[] | select(.seq > 200) | .start] | min' results.jsonl)
    # start and runtime are printed to the millisecond (1.5 ms of
    # rounding), and a start's wall clock is read just after its
    # monotonic one: 5 ms in all, where 199 spawns come to 20 or more.
    run -0 awk -v e="$last_end" -v s="$first_start" 'BEGIN { exit !(e <= s + 0.005) }'
}

@test "-j N raises a low soft limit on open files for N tasks, and the tasks keep the old one" {
    [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 1024 ] ||
        skip "the hard limit on open files is below 1024"
    # 150 tasks hold three descriptors each in poolrun: 450, past a soft
    # limit of 256.  Each writes what limit it sees, then waits until all
    # 150 run at once (the fifo's EOF only comes after 150 pid files).
    for i in $(seq 150); do
        echo "exec 4<gate; ulimit -n > pids/$i; read x <&4 || :"
    done >lines
    exec 5<>gate
    bash -c 'ulimit -Sn 256 || exit 99; exec "$0" -j 150' "$POOLRUN" <lines 3>&- 5>&- >/dev/null 2>err &
    runner=$!
    wait_for 120 started_or_refused 150
    skip_if_refused_a_process
    # Without room for 150, poolrun says it runs fewer, and waits.
    run -0 cat err
    [ "$output" = "" ]
    exec 5>&-
    status=0
    wait "$runner" || status=$?
    runner=""
    [ "$status" -eq 0 ]
    run -0 sort -u pids/*
    [ "$output" = "256" ]
}

# loop_in_pipe_write PID: poolrun's loop (its main thread) is blocked
# writing to a pipe.
loop_in_pipe_write() {
    [[ $(<"/proc/$1/wchan") == *pipe_write* ]]
}

@test "a task's end is when it exited even while poolrun's loop is held up" {
    # The shell waits for cat: a kernel that shows wait channels names it.
    [[ $(cat "/proc/$$/wchan") != 0 ]] || skip "this kernel shows no wchan"
    # The joblog is a fifo nobody reads: the record of task 2, whose
    # command is longer than the fifo holds, blocks the loop in write().
    # Task 1 exits while it is blocked, and the loop goes on only half a
    # second later.  Its runtime must end at its exit, not then.
    mkfifo jl
    filler=$(head -c 70000 /dev/zero | tr '\0' x)
    {
        echo 'exec 4<gate; echo $$ > pids/1; read x <&4 || :'
        echo ": $filler"
    } >lines
    exec 5<>gate 6<>jl
    "$POOLRUN" -j 2 --joblog jl --results results.jsonl <lines 3>&- 5>&- 6>&- >/dev/null 2>err &
    runner=$!
    wait_for 30 count_files pids 1
    wait_for 30 loop_in_pipe_write "$runner"
    exec 5>&-
    wait_for 30 all_zombies pids/1
    exited=$EPOCHREALTIME
    # The fault under test: the loop stays blocked for half a second more.
    sleep 0.5
    cat jl >joblog.txt 3>&- &
    exec 6>&-
    status=0
    wait "$runner" || status=$?
    runner=""
    [ "$status" -eq 0 ]
    end=$(jq -s '.[] | select(.seq == 1) | .start + .runtime' results.jsonl)
    # start and runtime are to the millisecond; 0.25 s is half the hold.
    run -0 awk -v e="$end" -v x="$exited" 'BEGIN { exit !(e < x + 0.25) }'
}
