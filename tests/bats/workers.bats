#!/usr/bin/env bats
# Daemon workers: --workers, protocols, sentinel shutdown, --daemon,
# recycling, failures.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
    pid=""
    # A line worker: records its pid, answers each line.
    cat >echo-worker.sh <<'EOF'
echo $$ >> pids
while IFS= read -r x; do
    printf '%s\n' "$x" >> "seen.$$"
    printf 'got %s from %s\n' "$x" "$$"
done
EOF
}

# A test that failed while its poolrun waited on a gate leaves none behind.
teardown() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
    fi
}

# No process of a worker listed in FILE is left.
none_alive() {
    local pid
    for pid in $(cat "$1"); do
        not_alive "$pid" || return 1
    done
}

@test "--workers sends each item to a worker and prints its answer line" {
    run -0 --separate-stderr poolrun -j 2 -k --workers 'sh echo-worker.sh' ::: a 'b c' "d'e" -x
    [ "${#lines[@]}" -eq 4 ]
    [[ ${lines[0]} == "got a from "* ]]
    [[ ${lines[1]} == "got b c from "* ]]
    [[ ${lines[2]} == "got d'e from "* ]]
    [[ ${lines[3]} == "got -x from "* ]]
    # Two workers, started once each, served everything between them.
    [ "$(wc -l <pids)" -eq 2 ]
    [ "$(cat seen.* | sort | tr '\n' ' ')" = "-x a b c d'e " ]
    none_alive pids
}

@test "--protocol json: input as a JSON string, output, exit and error from the answer" {
    cat >w.sh <<'EOF'
while IFS= read -r req; do
    seq=$(printf '%s' "$req" | jq -r .seq)
    in=$(printf '%s' "$req" | jq -r .input)
    case $in in
    fail) printf '{"output":"no","exit":3,"error":"bad item"}\n' ;;
    err) printf '{"error":"only an error"}\n' ;;
    *) jq -cn --arg o "seq $seq: $in" '{output: $o}' ;;
    esac
done
EOF
    run --separate-stderr poolrun -j 1 -k --protocol json --workers 'sh w.sh' ::: 'a "q"' fail err
    [ "$status" -eq 2 ]
    [ "$output" = "$(printf '%s\n' 'seq 1: a "q"' no)" ]
    [[ $stderr == *"bad item"* ]]
    [[ $stderr == *"only an error"* ]]
    [[ $stderr == *"task 2, pid "*": exit status 3: fail"* ]]
    [[ $stderr == *"task 3, pid "*": exit status 1: err"* ]]
}

@test "a malformed JSON answer fails that task, names why, and the worker is replaced" {
    cat >w.sh <<'EOF'
echo $$ >> pids
while IFS= read -r req; do
    case $req in
    *'"bad"'*) echo 'this is not json' ;;
    *) echo '{"output":"fine"}' ;;
    esac
done
EOF
    run --separate-stderr poolrun -j 1 -k --inflight 1 --protocol json --workers 'sh w.sh' ::: ok bad ok
    [ "$status" -eq 1 ]
    [ "$output" = "$(printf 'fine\nfine')" ]
    [[ $stderr == *"task 2, pid "*": the worker's answer is not a JSON object"*": bad"* ]]
    [ "$(wc -l <pids)" -eq 2 ]
}

@test "an item --protocol line cannot carry is that task's error, not a lost task" {
    run --separate-stderr poolrun -0 -j 1 -k --workers 'sh echo-worker.sh' < <(printf 'one\0two\nlines\0three\0')
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 2 ]
    [[ $stderr == *"task 2: its input holds a newline, which --protocol line cannot send (use --protocol json): "* ]]
    [[ $stderr == *"poolrun: 3 tasks: 2 ok, 1 error"* ]]
}

@test "at the end the workers' stdin is closed and they exit; none is left" {
    run -0 --separate-stderr poolrun -j 3 --workers 'sh echo-worker.sh; echo "eof $$" >> ends' ::: 1 2 3 4 5 6
    [ "$(wc -l <ends)" -eq 3 ]
    none_alive pids
}

@test "--worker-sentinel sends that line; a worker that then exits non-zero is reported" {
    cat >w.sh <<'EOF'
while IFS= read -r x; do
    if [ "$x" = STOP ]; then echo "stop $$" >> stops; exit 4; fi
    echo "got $x"
done
EOF
    run --separate-stderr poolrun -j 2 --summary --worker-sentinel STOP --workers 'sh w.sh' ::: a b c
    [ "$status" -eq 0 ]
    [ "$(wc -l <stops)" -eq 2 ]
    [[ $stderr == *"worker 1 (pid "*"): exit status 4 at shutdown, after "* ]]
    [[ $stderr == *"worker 2 (pid "*"): exit status 4 at shutdown, after "* ]]
    [[ $stderr == *"2 workers started, 2 ended badly at shutdown"* ]]
}

@test "a worker that ignores its sentinel and SIGTERM is killed after --grace and --kill-after" {
    echo 'trap "" TERM; echo $$ >> pids; while :; do IFS= read -r x && echo "got $x"; done' >w.sh
    run --separate-stderr poolrun -j 1 --grace 0.2 --kill-after 0.2 --workers 'exec sh w.sh' ::: a
    [ "$status" -eq 0 ]
    [ "$output" = "got a" ]
    [[ $stderr == *"worker 1 (pid "*"): killed by signal 9 (SIGKILL) at shutdown, after 1 task"* ]]
    none_alive pids
}

@test "--daemon terminates the workers when the queue is joined, without a sentinel" {
    # The worker would live on after its input ends; --daemon ends it.
    echo 'echo $$ >> pids; while IFS= read -r x; do echo "got $x"; done; exec sleep 1000' >w.sh
    run -0 --separate-stderr poolrun -j 2 --daemon --workers 'sh w.sh' ::: a b c
    [ "${#lines[@]}" -eq 3 ]
    [ -z "$stderr" ]
    none_alive pids
}

@test "--max-tasks-per-worker replaces a worker after N tasks, and --worker-init starts each" {
    cat >w.sh <<'EOF'
IFS= read -r init
echo "$$ $init" >> inits
while IFS= read -r x; do echo "$$"; done
EOF
    run -0 --separate-stderr poolrun -j 2 --inflight 2 --max-tasks-per-worker 3 \
        --worker-init 'hello worker' --workers 'sh w.sh' < <(seq 10)
    [ "${#lines[@]}" -eq 10 ]
    # No pid served more than 3 tasks; at least four workers did the ten.
    [ "$(printf '%s\n' "${lines[@]}" | sort | uniq -c | awk '$1 > 3' | wc -l)" -eq 0 ]
    [ "$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)" -ge 4 ]
    # Every worker got the init line first, once (a replacement started as
    # the last tasks ended may get it and nothing else).
    [ "$(cut -d' ' -f2- inits | sort -u)" = "hello worker" ]
    [ "$(cut -d' ' -f1 inits | sort | uniq -d)" = "" ]
    for pid in $(printf '%s\n' "${lines[@]}" | sort -u); do
        grep -q "^$pid hello worker\$" inits
    done
}

@test "a worker killed with SIGKILL mid-task: the task is retried on a new worker" {
    cat >w.sh <<'EOF'
echo $$ >> pids
while IFS= read -r x; do
    if [ "$x" = 2 ] && [ ! -e killed ]; then touch killed; kill -KILL $$; fi
    echo "got $x from $$"
done
EOF
    run -0 --separate-stderr poolrun -j 1 --inflight 1 -k --retries 1 --joblog log --workers 'exec sh w.sh' ::: 1 2 3
    [ "${#lines[@]}" -eq 3 ]
    [[ ${lines[1]} == "got 2 from "* ]]
    # Task 2's answer came from a worker other than the one that died.
    [ "${lines[1]##* }" != "$(head -1 pids)" ]
    [ "$(joblog_rows log | wc -l)" -eq 3 ]
    [[ $stderr == *"worker 1 (pid $(head -1 pids)): killed by signal 9 (SIGKILL) while running"* ]]
}

@test "without retries the task of a dead worker is recorded killed, and tasks in flight behind it still run" {
    cat >w.sh <<'EOF'
while IFS= read -r x; do
    [ "$x" = die ] && kill -KILL $$
    echo "got $x"
done
EOF
    # -j 1 --inflight 3: "die", b and c are sent together; b and c go back
    # to the queue when the worker dies and run on its replacement.
    run --separate-stderr poolrun -j 1 --inflight 3 -k --workers 'exec sh w.sh' ::: die b c
    [ "$status" -eq 1 ]
    [ "$output" = "$(printf 'got b\ngot c')" ]
    [[ $stderr == *"task 1, pid "*": killed by signal 9 (SIGKILL): die"* ]]
    [[ $stderr == *"poolrun: 3 tasks: 2 ok, 1 killed"* ]]
}

@test "a worker that keeps dying at start-up stops the run with a clear error" {
    run --separate-stderr poolrun -j 2 --workers 'echo boom >&2; exit 3' < <(seq 100)
    [ "$status" -eq 255 ]
    [[ $stderr == *"--workers: the worker died 5 times in a row before answering a task (last: exit status 3): echo boom >&2; exit 3"* ]]
    # Not 100 tasks' worth of attempts: it stopped.
    [ "$(grep -c 'exit status 3 while running' <<<"$stderr")" -le 6 ]
    [[ $stderr == *" skipped"* ]]
}

@test "--timeout: a worker stuck on a task is killed and replaced; the task times out" {
    echo 'echo $$ >> pids; while IFS= read -r x; do [ "$x" = slow ] && sleep 1000; echo "got $x"; done' >w.sh
    run --separate-stderr poolrun -j 1 --inflight 1 -k --timeout 0.3 --workers 'sh w.sh' ::: a slow b
    [ "$status" -eq 1 ]
    [ "$output" = "$(printf 'got a\ngot b')" ]
    [[ $stderr == *"task 2, pid "*": timed out after "* ]]
    [ "$(wc -l <pids)" -eq 2 ]
    none_alive pids
}

@test "--inflight K sends a worker K tasks before it answers, answers matched in order" {
    # This worker reads three lines before it answers any: with fewer than
    # three in flight it would wait forever.
    echo 'while IFS= read -r a && IFS= read -r b && IFS= read -r c; do echo "$a"; echo "$b"; echo "$c"; done' >w.sh
    run -0 --separate-stderr poolrun -j 1 --inflight 3 --joblog log --workers 'sh w.sh' ::: x y z
    [ "$output" = "$(printf 'x\ny\nz')" ]
    # Each answer went to its own task.
    [ "$(joblog_rows log | cut -f1,6 | sort | tr '\t\n' ': ')" = "1:2 2:2 3:2 " ]
}

@test "a worker's stderr goes to its task's stderr; --tag, joblog and results apply" {
    echo 'while IFS= read -r x; do echo "warn $x" >&2; echo "out $x"; done' >w.sh
    run -0 --separate-stderr poolrun -j 1 --inflight 1 --tag --results r.jsonl --joblog log --workers 'sh w.sh' ::: a b
    [ "$output" = "$(printf 'a\tout a\nb\tout b')" ]
    [[ $stderr == *$'a\twarn a'* ]]
    [ "$(joblog_rows log | wc -l)" -eq 2 ]
    # The results hold the output as printed.
    [ "$(jq -j '.stdout' r.jsonl | tr '\n\t' ' :')" = "a:out a b:out b " ]
}

@test "--workers options are checked" {
    run poolrun --daemon true
    [ "$status" -eq 255 ]
    [[ $output == *"need --workers CMD"* ]]
    run poolrun --workers cat echo
    [ "$status" -eq 255 ]
    [[ $output == *"echo: with --workers, input items go to the workers; no COMMAND"* ]]
    run poolrun --workers cat --protocol xml
    [ "$status" -eq 255 ]
    [[ $output == *"--protocol: 'xml' is not line or json"* ]]
    run poolrun --workers cat --inflight 0
    [ "$status" -eq 255 ]
}

@test "a service task runs while the other tasks run and is gone afterwards" {
    cat >jobs.json <<'JSON'
{"tasks": [
  {"id": "client", "cmd": "until [ -e ready ]; do sleep 0.01; done; kill -0 $(cat svc.pid) && echo service alive"},
  {"id": "svc", "daemon": true, "cmd": "echo $$ > svc.pid; touch ready; echo service log; exec sleep 1000"}
]}
JSON
    run -0 --separate-stderr poolrun -j 1 --joblog log --results r.jsonl -f jobs.json
    # The only slot went to the client: the service held none.
    [ "$output" = "service alive" ]
    [ -z "$stderr" ]
    not_alive "$(cat svc.pid)"
    # Not a task of the queue: no joblog row; a results record, ok.
    [ "$(joblog_rows log | cut -f9)" = "$(jq -r 'select(.id == "client") | .command' r.jsonl)" ]
    jq -e -s 'map(select(.id == "svc"))[0] | .service == true and .status == "ok"' r.jsonl
}

@test "a service that exits early is reported with its output and fails the run" {
    cat >jobs.json <<'JSON'
{"tasks": [
  {"id": "work", "cmd": "until [ -s svc.pid ] && ! ps -o stat= -p $(cat svc.pid) | grep -qv Z; do sleep 0.01; done; echo work done"},
  {"id": "db", "daemon": true, "cmd": "echo db is failing; echo $$ > svc.pid; exit 3"}
]}
JSON
    run --separate-stderr poolrun -f jobs.json
    [ "$status" -eq 1 ]
    [[ $output == *"db is failing"* ]]
    [[ $output == *"work done"* ]]
    [[ $stderr == *"service (db), pid "*": exit status 3: "* ]]
    [[ $stderr == *"1 service ended before the other tasks did"* ]]
}

@test "--halt counts a service that exits early as a failure" {
    cat >jobs.json <<'JSON'
{"tasks": [
  {"id": "work", "cmd": "echo $$ > work.pid; exec sleep 1000"},
  {"id": "db", "daemon": true, "cmd": "until [ -e work.pid ]; do sleep 0.01; done; exit 5"}
]}
JSON
    run --separate-stderr poolrun --halt now,fail=1 -f jobs.json
    [ "$status" -eq 5 ]
    [[ $stderr == *"poolrun: 1 task: 1 killed"* ]]
    not_alive "$(cat work.pid)"
}

@test "the jobs/ examples of a worker pool and a service run" {
    cd "$PR_SRC"
    run -0 sh jobs/worker-pool.sh "$POOLRUN"
    [ "${lines[0]}" = "words: 2 jobs/files/a.txt" ]
    [ "${lines[1]}" = "words: 10 jobs/files/b c.txt" ]
    cd "$BATS_TEST_TMPDIR"
    run -0 "$POOLRUN" -k -f "$PR_SRC/jobs/service.json"
    [ "$output" = "$(printf 'check-1: the service is up\ncheck-2: the service is up')" ]
}

@test "with workers, a closed stdout stops the run with 141 and no worker is left" {
    run --separate-stderr bash -c 'seq 1000000 | "$POOLRUN" -j 2 --workers "sh echo-worker.sh" | head -n 1; echo "status ${PIPESTATUS[1]}" >&2'
    [[ $output == "got "* ]]
    [[ $stderr == *"status 141"* ]]
    # Tasks poolrun itself ended are not reported one by one.
    [[ $stderr != *"killed by signal"* ]]
    wait_for 20 none_alive pids
}

@test "SIGINT stops the workers too, with 130" {
    echo 'echo $$ >> pids; while IFS= read -r x; do touch "started.$x"; sleep 1000; done' >w.sh
    "$POOLRUN" -j 2 --inflight 1 --workers 'exec sh w.sh' ::: a b c >out 2>err &
    pid=$!
    wait_for 20 all_exist started.a started.b
    kill -INT "$pid"
    wait_status "$pid" 130
    none_alive pids
    grep -q 'poolrun: 3 tasks: 2 killed, 1 skipped' err
}

@test "with tasks sent ahead, a task's timeout counts from when the worker turns to it" {
    # Each task takes 0.2 s; three are in flight at once.  Were the limit
    # counted from sending, the third (waiting 0.4 s) would time out.
    echo 'while IFS= read -r x; do sleep 0.2; echo "got $x"; done' >w.sh
    run -0 --separate-stderr poolrun -j 1 --inflight 3 --timeout 0.35 -k --workers 'sh w.sh' ::: a b c
    [ "$output" = "$(printf 'got a\ngot b\ngot c')" ]
}

# A line worker that answers at once, but for the item "slow" only once a
# line arrives on the fifo `gate`.
gated_worker() {
    mkfifo gate
    cat >gated.sh <<'EOF2'
while IFS= read -r x; do
    if [ "$x" = slow ]; then read -r _ <gate; fi
    printf 'done %s\n' "$x"
done
EOF2
}

# answered N: the file `out` has N answers to numbered items.
answered() {
    [ "$(grep -c '^done [0-9]' out)" -eq "$1" ]
}

# logged N: the joblog `log` has N rows.
logged() {
    [ "$(joblog_rows log | wc -l)" -eq "$1" ]
}

@test "without --inflight, a worker busy with a slow task is sent nothing more: the other worker takes every other task" {
    gated_worker
    { echo slow; seq 50; } >items
    poolrun -j 2 --workers 'exec sh gated.sh' -a items >out 2>err 3>&- &
    pid=$!
    # Every other task is answered while "slow" still waits for the gate:
    # none was sent behind it.
    wait_for 20 answered 50
    alive "$pid"
    echo go >gate
    wait_status "$pid" 0
    [ "$(tail -n 1 out)" = "done slow" ]
    [ "$(wc -l <out)" -eq 51 ]
}

@test "--inflight K fixes the window: tasks sent behind a slow one wait for it" {
    gated_worker
    { echo slow; seq 50; } >items
    poolrun -j 2 --inflight 4 -k --joblog log --workers 'exec sh gated.sh' -a items >out 2>err 3>&- &
    pid=$!
    # With -k, out is in input order: it fills only once "slow" is done.
    # The joblog shows the tasks ended meanwhile: 50 less the three sent
    # behind "slow" to its worker.
    wait_for 20 logged 47
    alive "$pid"
    echo go >gate
    wait_status "$pid" 0
    logged 51
}

@test "a worker command that is not found stops the run with one line of poolrun's" {
    # The shell says what it could not find, once per worker started.
    run -255 --separate-stderr poolrun --workers /nonexistent/worker -j 2 < <(seq 20)
    [ "$(grep -c '^poolrun:' <<<"$stderr")" -eq 1 ]
    [[ $stderr == *"poolrun: --workers /nonexistent/worker: cannot start: the shell exited 127 (command not found) before any answer"* ]]
    [ -z "$output" ]
    [ "$(grep -vc '^poolrun:' <<<"$stderr")" -le 2 ]
}

@test "a worker command that cannot run stops the run with one line of poolrun's" {
    touch not-executable
    run -255 --separate-stderr poolrun --workers ./not-executable -j 2 < <(seq 20)
    [ "$(grep -c '^poolrun:' <<<"$stderr")" -eq 1 ]
    [[ $stderr == *"poolrun: --workers ./not-executable: cannot start: the shell exited 126 (found but cannot run) before any answer"* ]]
}

@test "a worker that holds a task 10 s while the others answer is asked once whether it flushes" {
    # A real 10 s: the warning is about time passing.  Task 1 waits for a
    # file the test makes only once the warning is out.
    cat >w.py <<'PY'
import os, sys, time
for line in sys.stdin:
    item = line.strip()
    if item == "stuck":
        while not os.path.exists("release"):
            time.sleep(0.05)
    print(item, flush=True)
PY
    { echo stuck; seq 20; } >items
    "$POOLRUN" -j 2 --workers "/usr/bin/python3 w.py" <items >out 2>err 3>&- &
    pid=$!
    wait_for 30 grep -q 'has held task 1 for 10 s' err
    touch release
    wait_status "$pid" 0
    [ "$(wc -l <out)" -eq 21 ]
    [ "$(grep -c '^poolrun:' err)" -eq 1 ]
    [[ $(cat err) == "poolrun: worker "*" (pid "*") has held task 1 for 10 s without an answer while the other workers answered: does it flush its standard output after each answer (Python: print(..., flush=True))?" ]]
}

@test "the README's JSON worker example runs as shown: jobs/workers/square.py" {
    grep -q "seq 100000 | poolrun -j 2 --protocol json --workers 'python3 jobs/workers/square.py' --max-tasks-per-worker 1000" "$PR_SRC/README.md"
    cd "$PR_SRC"
    run -0 --separate-stderr poolrun -k -j 2 --protocol json \
        --workers '/usr/bin/python3 jobs/workers/square.py' --max-tasks-per-worker 10 < <(seq 25)
    [ "$output" = "$(seq 25 | awk '{print $1 * $1}')" ]
}
