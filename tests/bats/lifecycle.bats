#!/usr/bin/env bats
# The life of a task: timeouts, retries, halt and the exit-status policy.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
}

@test "--timeout ends a task that ignores SIGTERM, with SIGKILL after --kill-after" {
    echo 'trap "" TERM; echo $$ > pid; exec sleep 1000' >lines
    run --separate-stderr poolrun --timeout 0.3 --kill-after 0.3 --joblog log <lines
    [ "$status" -eq 1 ]
    [[ $stderr == *"task 1, pid $(cat pid): timed out after "* ]]
    [[ $stderr == *"poolrun: 1 task: 1 timeout"* ]]
    # SIGTERM was ignored, so SIGKILL ended it.
    [ "$(joblog_rows log | cut -f8)" = 9 ]
    not_alive "$(cat pid)"
}

@test "--timeout ends the task's children and grandchildren too" {
    echo 'sh -c "sleep 1000 & echo \$! > grandchild; wait" & echo $! > child; wait' >lines
    run --separate-stderr poolrun --timeout 0.3 <lines
    [ "$status" -eq 1 ]
    [[ $stderr == *"1 timeout"* ]]
    not_alive "$(cat child)"
    not_alive "$(cat grandchild)"
}

@test "a task within its --timeout is not touched" {
    run --separate-stderr poolrun --timeout 30 echo ::: done
    [ "$status" -eq 0 ]
    [ "$output" = done ]
}

@test "a job file's timeout applies to its task and overrides --timeout" {
    cat >jobs.json <<'EOF'
{"tasks": [
  {"id": "slow", "cmd": "sleep 1000", "timeout": 0.2},
  {"id": "free", "cmd": "sleep 0.5; echo free", "timeout": 0}
]}
EOF
    run --separate-stderr poolrun --timeout 0.1 -f jobs.json
    [ "$status" -eq 1 ]
    [ "$output" = free ]
    [[ $stderr == *"task 1 (slow)"*"timed out"* ]]
}

@test "--timeout takes fractions and refuses nonsense" {
    run poolrun --timeout abc true
    [ "$status" -eq 255 ]
    [[ $output == *"--timeout: 'abc' is not a number of seconds (0 to"* ]]
    # --timeout 0 is no timeout (habits.bats); a negative one is refused.
    run poolrun --timeout -1 true
    [ "$status" -eq 255 ]
}

@test "--retries runs a failing task again until it succeeds" {
    # Fails on attempts 1 and 2, succeeds on 3.
    echo 'echo x >> tries; [ "$(wc -l < tries)" -ge 3 ]' >lines
    run --separate-stderr poolrun --retries 2 --joblog log <lines
    [ "$status" -eq 0 ]
    [ "$(wc -l <tries)" -eq 3 ]
    # The joblog holds the final attempt only.
    [ "$(joblog_rows log | wc -l)" -eq 1 ]
    [ "$(joblog_rows log | cut -f7)" = 0 ]
}

@test "--retries gives up after N more attempts and records the failure once" {
    echo 'echo x >> tries; exit 4' >lines
    run --separate-stderr poolrun --retries 3 --joblog log <lines
    [ "$status" -eq 1 ]
    [ "$(wc -l <tries)" -eq 4 ]
    [ "$(joblog_rows log | wc -l)" -eq 1 ]
    [[ $stderr == *"poolrun: 1 task: 1 failed"* ]]
}

@test "only the last attempt's output is printed" {
    echo 'echo x >> tries; n=$(wc -l < tries); echo "attempt $n"; [ $n -ge 2 ]' >lines
    run --separate-stderr poolrun --retries 5 <lines
    [ "$status" -eq 0 ]
    [ "$output" = "attempt 2" ]
    # With -k too, where the oldest task's output may otherwise go out as
    # it comes.
    rm tries
    run --separate-stderr poolrun -k --retries 5 <lines
    [ "$status" -eq 0 ]
    [ "$output" = "attempt 2" ]
}

@test "a timed-out task is retried too" {
    echo 'echo x >> tries; [ "$(wc -l < tries)" -ge 2 ] || exec sleep 1000' >lines
    run --separate-stderr poolrun --timeout 0.2 --retries 1 <lines
    [ "$status" -eq 0 ]
    [ "$(wc -l <tries)" -eq 2 ]
}

@test "--retry-on retries only the exit codes and events it lists" {
    printf '%s\n' 'echo a >> tries.a; exit 3' 'echo b >> tries.b; exit 75' \
        'echo c >> tries.c; exec sleep 1000' 'echo d >> tries.d; kill -KILL $$' >lines
    run --separate-stderr poolrun -j 4 --timeout 0.3 --retries 2 --retry-on 75,timeout,SIGKILL <lines
    [ "$status" -eq 4 ]
    [ "$(wc -l <tries.a)" -eq 1 ]
    [ "$(wc -l <tries.b)" -eq 3 ]
    [ "$(wc -l <tries.c)" -eq 3 ]
    [ "$(wc -l <tries.d)" -eq 3 ]
}

@test "a job file's retries overrides --retries" {
    cat >jobs.json <<'EOF'
{"defaults": {"retries": 2}, "tasks": [
  {"id": "a", "cmd": "echo a >> tries.a; exit 1"},
  {"id": "b", "cmd": "echo b >> tries.b; exit 1", "retries": 0}
]}
EOF
    run --separate-stderr poolrun --retries 5 -f jobs.json
    [ "$status" -eq 2 ]
    [ "$(wc -l <tries.a)" -eq 3 ]
    [ "$(wc -l <tries.b)" -eq 1 ]
}

@test "--retry-delay waits between attempts, growing by its factor" {
    echo 'date +%s.%N >> times; exit 1' >lines
    run --separate-stderr poolrun --retries 2 --retry-delay 0.2x2 <lines
    [ "$status" -eq 1 ]
    [ "$(wc -l <times)" -eq 3 ]
    # The gaps are at least 0.2 s and then 0.4 s.
    awk 'NR > 1 {gap[NR] = $1 - prev} {prev = $1}
         END {exit !(gap[2] >= 0.2 && gap[3] >= 0.4)}' times
}

@test "a task waiting for its retry holds no slot" {
    # -j 1: while the first task waits out its delay, the second runs.
    printf '%s\n' 'echo first >> order; [ -e flag ]' 'echo second >> order; touch flag' >lines
    run --separate-stderr poolrun -j 1 --retries 1 --retry-delay 0.3 <lines
    [ "$status" -eq 0 ]
    [ "$(cat order)" = "$(printf 'first\nsecond\nfirst\n')" ]
}

@test "bad retry options are named" {
    run poolrun --retry-on 3,bogus true
    [ "$status" -eq 255 ]
    [[ $output == *"--retry-on: 'bogus' is not an exit code"* ]]
    run poolrun --retry-delay 1x0.5 true
    [ "$status" -eq 255 ]
    [[ $output == *"--retry-delay: '1x0.5'"* ]]
    run poolrun --retries -1 true
    [ "$status" -eq 255 ]
}

@test "--halt now,fail=1 kills running tasks, skips the rest and exits with the failing task's status" {
    printf '%s\n' 'echo $$ > slow; exec sleep 1000' \
        'until [ -e slow ]; do sleep 0.01; done; exit 7' 'echo never' 'echo never' >lines
    run --separate-stderr poolrun -j 2 --halt now,fail=1 --joblog log <lines
    [ "$status" -eq 7 ]
    [ -z "$output" ]
    [[ $stderr == *"poolrun: 4 tasks: 1 failed, 1 killed, 2 skipped"* ]]
    not_alive "$(cat slow)"
    # The joblog lists the two that ran.
    [ "$(joblog_rows log | wc -l)" -eq 2 ]
}

@test "--halt soon,fail=1 lets running tasks finish and starts no more" {
    # Task 1 runs on until poolrun has recorded task 2's failure (its row
    # in the joblog), so the halt certainly comes first.
    printf '%s\n' 'until grep -q "exit 3" log 2>/dev/null; do sleep 0.01; done; echo finished' \
        'exit 3' 'echo never' >lines
    run --separate-stderr poolrun -j 2 --halt soon,fail=1 --joblog log <lines
    [ "$status" -eq 3 ]
    [ "$output" = finished ]
    [[ $stderr == *"poolrun: 3 tasks: 1 ok, 1 failed, 1 skipped"* ]]
}

@test "--halt soon,success=1 stops after the first success with status 0" {
    run --separate-stderr poolrun -j 1 --halt soon,success=1 sh -c 'exit $0' ::: 3 0 4 5
    [ "$status" -eq 0 ]
    [[ $stderr == *"poolrun: 4 tasks: 1 ok, 1 failed, 2 skipped"* ]]
}

@test "--halt soon,fail=50% counts against the number of tasks" {
    run --separate-stderr poolrun -j 1 --halt soon,fail=50% sh -c 'exit $0' ::: 1 2 0 0
    [ "$status" -eq 2 ]
    [[ $stderr == *"poolrun: 4 tasks: 2 failed, 2 skipped"* ]]
}

@test "--halt now,done=2 stops after two tasks whatever their status" {
    run --separate-stderr poolrun -j 1 --halt now,done=2 sh -c 'exit $0' ::: 0 5 0
    [ "$status" -eq 5 ]
    [[ $stderr == *"1 ok, 1 failed, 1 skipped"* ]]
}

@test "--halt refuses what it does not understand" {
    run poolrun --halt later,fail=1 true
    [ "$status" -eq 255 ]
    [[ $output == *"--halt: 'later,fail=1' is not now|soon"* ]]
    run poolrun --halt now,fail=0 true
    [ "$status" -eq 255 ]
}

@test "--exit-status first, last and max pick a task's exit code" {
    printf '%s\n' 'exit 3' 'true' 'exit 9' 'exit 4' >lines
    run poolrun -j 1 --exit-status first <lines
    [ "$status" -eq 3 ]
    run poolrun -j 1 --exit-status last <lines
    [ "$status" -eq 4 ]
    run poolrun -j 1 --exit-status max <lines
    [ "$status" -eq 9 ]
    run poolrun -j 1 --exit-status count <lines
    [ "$status" -eq 3 ]
    run poolrun -j 1 --exit-status max <<<'true'
    [ "$status" -eq 0 ]
}

@test "--exit-status reports a signal as 128+N and a timeout as 124" {
    run poolrun --exit-status max <<<'kill -USR1 $$'
    [ "$status" -eq 138 ]
    run poolrun --exit-status max --timeout 0.1 <<<'sleep 1000'
    [ "$status" -eq 124 ]
}

@test "--halt says which task reached which limit, and what became of the rest" {
    printf '%s\n' 'touch started; exec sleep 30' \
        'until [ -e started ]; do sleep 0.01; done; exit 4' >lines
    run -4 --separate-stderr poolrun -j 2 --halt now,fail=1 <lines
    [[ $stderr == *"poolrun: --halt now,fail=1: reached by task 2 (failed): the tasks still running were ended, no other task started"* ]]
    # Of three tasks, the second failure is over 50%.
    run -3 --separate-stderr poolrun -j 1 --halt soon,fail=50% ::: 'exit 3' 'exit 3' true
    [[ $stderr == *"poolrun: --halt soon,fail=50%: reached by task 2 (failed): the tasks running were let finish, no other task started"* ]]
}
