#!/usr/bin/env bats
# A queue in Redis: submit, status, join, close, cancel on a redis:// URL,
# and poolrun worker.  Each test starts its own redis-server on 127.0.0.1,
# on a free port, and stops it by its pid.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
    redis_pid=""
    workers=()
    if ! "$POOLRUN" --version | grep -q '^Redis queues (poolrun worker): yes'; then
        [[ $BATS_TEST_DESCRIPTION == *"without Redis support"* ]] ||
            skip "poolrun was built without Redis support (no hiredis)"
        return 0
    fi
    [[ $BATS_TEST_DESCRIPTION != *"without Redis support"* ]] ||
        skip "poolrun was built with Redis support"
    command -v redis-server >/dev/null ||
        skip "redis-server is not installed"
    export POOLRUN_QUEUE=""
    unset POOLRUN_REDIS_PASSWORD
}

teardown() {
    local pid
    for pid in "${workers[@]}"; do
        if alive "$pid"; then
            kill -9 "$pid"
        fi
    done
    # Tasks a SIGKILLed worker left behind wrote their pids here.
    if [ -e task_pids ]; then
        while read -r pid; do
            kill -9 "$pid" 2>/dev/null || true
        done <task_pids
    fi
    if [ -n "$redis_pid" ] && alive "$redis_pid"; then
        kill "$redis_pid"
        wait_for 10 not_alive "$redis_pid" || kill -9 "$redis_pid"
    fi
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

redis_up() {
    redis-cli -p "$port" ${1:+--no-auth-warning -a "$1"} ping 2>/dev/null | grep -q PONG
}

# start_redis [PASSWORD]: a redis-server of this test's own; its password
# goes in a config file, never in its argv.  Sets port, queue.
start_redis() {
    port=$(free_port)
    {
        echo "port $port"
        echo "bind 127.0.0.1"
        echo "save ''"
        echo "appendonly ${redis_aof:-no}"
        echo "dir $BATS_TEST_TMPDIR"
        echo "daemonize no"
        if [ -n "${1:-}" ]; then
            echo "requirepass $1"
        fi
    } >redis.conf
    redis-server "$BATS_TEST_TMPDIR/redis.conf" >redis.log 2>&1 &
    redis_pid=$!
    wait_for 10 redis_up "${1:-}"
    queue="redis://127.0.0.1:$port/q"
}

stop_redis() {
    kill "$redis_pid"
    wait_for 10 not_alive "$redis_pid"
}

# restart_redis [PASSWORD]: the same server again, on the same port and
# folder: with appendonly, its file brings the queue back.
restart_redis() {
    redis-server "$BATS_TEST_TMPDIR/redis.conf" >>redis.log 2>&1 &
    redis_pid=$!
    wait_for 10 redis_up "${1:-}"
}

# start_worker LOG ARGS...: a worker on $queue with short timings, in the
# background; its pid in $worker.
start_worker() {
    local log=$1
    shift
    "$POOLRUN" worker --queue "$queue" --lease 1 --renew 0.2 --block 0.2 \
        "$@" >"$log.out" 2>"$log.err" &
    worker=$!
    workers+=("$worker")
}

# done_count N: the queue has N results.
done_count() {
    [ "$("$POOLRUN" status --queue "$queue" --json | jq .done)" -eq "$1" ]
}

@test "submit then a worker runs each task once, and join --results has each result" {
    start_redis
    printf 'echo a >>ran\necho b >>ran\necho c >>ran\n' >tasks
    run -0 poolrun submit --queue "$queue" <tasks
    [ "${#lines[@]}" -eq 3 ]
    start_worker w -j 2
    run -0 poolrun join --queue "$queue" --timeout 20 --results res.jsonl
    [ "$(sort ran | tr -d '\n')" = "abc" ]
    [ "$(wc -l <res.jsonl)" -eq 3 ]
    [ "$(jq -r .status res.jsonl | sort -u)" = "ok" ]
    [ "$(jq -r .stdout res.jsonl | sort | tr -d '\n')" = "" ]
    [ "$(jq -r .attempt res.jsonl | sort -u)" = "1" ]
}

@test "a task's stdout goes to its result, and POOLRUN_QUEUE stands for --queue" {
    start_redis
    export POOLRUN_QUEUE=$queue
    run -0 poolrun submit --id hello echo hi there
    [ "$output" = "hello" ]
    start_worker w -j 1
    run -0 poolrun join --results -
    [ "$(jq -r .id <<<"$output")" = "hello" ]
    [ "$(jq -r .stdout <<<"$output")" = "hi there" ]
}

@test "submit -f takes a job file's ids, its defaults and its folder for cwd" {
    start_redis
    mkdir -p jobs/sub
    cat >jobs/j.json <<'EOF'
{
  "defaults": { "env": { "A": "from-defaults", "B": "b" }, "cwd": "sub" },
  "tasks": [
    { "id": "one", "cmd": "echo \"$A $B\" > out" },
    { "id": "two", "cmd": "echo \"$A $B\" > out2", "env": { "A": "own" } }
  ]
}
EOF
    run -0 poolrun submit --queue "$queue" -f jobs/j.json
    [ "$output" = "$(printf 'one\ntwo')" ]
    start_worker w -j 2
    run -0 poolrun join --queue "$queue" --timeout 20
    [ "$(cat jobs/sub/out)" = "from-defaults b" ]
    [ "$(cat jobs/sub/out2)" = "own b" ]
}

@test "submit --json takes each line's id, and refuses a bad line naming it" {
    start_redis
    printf '{"id": "x", "cmd": "true"}\n{"cmd": "true"}\n' >tasks.jsonl
    run -0 poolrun submit --queue "$queue" --json <tasks.jsonl
    [ "${lines[0]}" = "x" ]
    [[ ${lines[1]} == t* ]]
    printf '{"cmd": "true"}\n{"cmd": 5}\n' >bad.jsonl
    run -255 poolrun submit --queue "$queue" --json <bad.jsonl
    [[ $output == "poolrun: submit: stdin:2:"* ]]
    run -0 poolrun status --queue "$queue" --json
    [ "$(jq .submitted <<<"$output")" -eq 2 ]
}

@test "a worker runs its tasks with the local options: --timeout, --workers" {
    start_redis
    run -0 poolrun submit --queue "$queue" --id slow sleep 30
    start_worker w1 -j 1 --timeout 0.2
    run -1 poolrun join --queue "$queue" --timeout 20 --results res.jsonl
    [ "$(jq -r .status res.jsonl)" = "timeout" ]
    queue="redis://127.0.0.1:$port/words"
    printf '%s\n' "$PR_SRC/jobs/files/a.txt" >files
    run -0 poolrun submit --queue "$queue" <files
    start_worker w2 -j 1 --workers "sh $PR_SRC/jobs/workers/wordcount.sh" --worker-init words:
    run -0 poolrun join --queue "$queue" --timeout 20 --results -
    [ "$(jq -r .stdout <<<"$output")" = "words: 2 $PR_SRC/jobs/files/a.txt" ]
}

@test "submitting the same tasks again changes nothing" {
    start_redis
    printf 'echo 1 >>ran\necho 2 >>ran\n' >tasks
    run -0 poolrun submit --queue "$queue" <tasks
    first=$output
    run -0 poolrun submit --queue "$queue" <tasks
    [ "$output" = "$first" ]
    run -0 poolrun status --queue "$queue" --json
    [ "$(jq .submitted <<<"$output")" -eq 2 ]
    start_worker w -j 2
    run -0 poolrun join --queue "$queue" --timeout 20
    run -0 poolrun submit --queue "$queue" <tasks
    [ "$output" = "$first" ]
    run -0 poolrun join --queue "$queue" --timeout 20
    [ "$(wc -l <ran)" -eq 2 ]
}

@test "two workers share a queue: every task runs once, none is lost" {
    start_redis
    for i in $(seq 1 60); do
        echo "echo $i >>ran.\$POOLRUN_SLOT.\$\$"
    done >tasks
    run -0 poolrun submit --queue "$queue" <tasks
    # A lease no stall of a loaded machine reaches: a worker slower than
    # its lease may see its task run again elsewhere (at least once).
    start_worker w1 -j 3 --lease 30
    start_worker w2 -j 3 --lease 30
    run -0 poolrun join --queue "$queue" --timeout 30 --results res.jsonl
    [ "$(cat ran.* | sort -n | uniq | wc -l)" -eq 60 ]
    [ "$(cat ran.* | wc -l)" -eq 60 ]
    [ "$(jq -r .node res.jsonl | sort -u | wc -l)" -eq 2 ]
}

@test "join exits with the number of tasks that failed, as the one-shot command" {
    start_redis
    printf 'exit 1\ntrue\nexit 7\nfalse\n' >tasks
    run -0 poolrun submit --queue "$queue" <tasks
    start_worker w -j 4
    run -3 poolrun join --queue "$queue" --timeout 20 --results res.jsonl
    [ "$(jq -r 'select(.status == "failed") | .exit' res.jsonl | sort -n | tr '\n' ' ')" = "1 1 7 " ]
}

@test "join --timeout gives 124 while tasks run" {
    start_redis
    run -0 poolrun submit --queue "$queue" sh -c 'until [ -e go ]; do sleep 0.05; done'
    start_worker w -j 1
    run -124 poolrun join --queue "$queue" --timeout 0.3
    touch go
    run -0 poolrun join --queue "$queue" --timeout 20
}

@test "a SIGKILLed worker leaves no task running; its task is taken by another after the lease and counted once" {
    start_redis
    run -0 poolrun submit --queue "$queue" --id slow sh -c \
        'echo $$ >>task_pids; echo run >>runs; [ -e first ] || { touch first; exec sleep 60; }'
    start_worker w1 -j 1
    wait_for 10 all_exist first
    kill -9 "$worker"
    # Its task dies with it (the spawn's PR_SET_PDEATHSIG): none left.
    wait_for 10 not_alive "$(head -n 1 task_pids)"
    start_worker w2 -j 1
    run -0 poolrun join --queue "$queue" --timeout 20 --results res.jsonl
    [ "$(wc -l <runs)" -eq 2 ]
    [ "$(wc -l <res.jsonl)" -eq 1 ]
    [ "$(jq -r .attempt res.jsonl)" = "2" ]
    run -0 poolrun status --queue "$queue" --json
    [ "$(jq .done <<<"$output")" -eq 1 ]
}

@test "a task whose worker dies each time ends lost after --attempts, and join counts it" {
    start_redis
    run -0 poolrun submit --queue "$queue" --id poison sh -c 'echo run >>runs; kill -9 $PPID'
    start_worker w1 -j 1 --attempts 2
    wait_for 10 not_alive "$worker"
    start_worker w2 -j 1 --attempts 2
    wait_for 10 not_alive "$worker"
    start_worker w3 -j 1 --attempts 2
    run -1 poolrun join --queue "$queue" --timeout 20 --results res.jsonl
    [ "$(jq -r .status res.jsonl)" = "lost" ]
    [ "$(jq -r .attempt res.jsonl)" = "2" ]
    [ "$(wc -l <runs)" -eq 2 ]
    run -0 poolrun status --queue "$queue"
    [ "$output" = "queue q: 1 submitted, 1 done (1 failed), 0 running, 0 waiting, 3 workers" ]
}

@test "a worker stopped past the lease: its task runs again elsewhere, and is counted once" {
    start_redis
    run -0 poolrun submit --queue "$queue" --id t sh -c \
        'echo run >>runs; until [ -e go ]; do sleep 0.05; done'
    start_worker w1 -j 1
    w1=$worker
    wait_for 10 all_exist runs
    kill -STOP "$w1"
    start_worker w2 -j 1
    wait_for 15 sh -c '[ "$(wc -l <runs)" -eq 2 ]'
    touch go
    run -0 poolrun join --queue "$queue" --timeout 15
    kill -CONT "$w1"
    kill -TERM "$w1"
    wait_status "$w1" 143
    run -0 poolrun status --queue "$queue" --json
    [ "$(jq .done <<<"$output")" -eq 1 ]
    [ "$(jq .failed <<<"$output")" -eq 0 ]
    run -0 poolrun join --queue "$queue" --results res.jsonl
    [ "$(wc -l <res.jsonl)" -eq 1 ]
}

@test "a task longer than the lease is not taken from its live worker" {
    start_redis
    run -0 poolrun submit --queue "$queue" --id long sh -c \
        'echo run >>runs; sleep 4'
    start_worker w1 -j 1 --lease 2
    wait_for 10 all_exist runs
    start_worker w2 -j 1 --lease 2
    run -0 poolrun join --queue "$queue" --timeout 20 --results res.jsonl
    [ "$(wc -l <runs)" -eq 1 ]
    [ "$(jq -r .attempt res.jsonl)" = "1" ]
}

# running_on NODE N: status says node NODE has N tasks in flight.
running_on() {
    [ "$("$POOLRUN" status --queue "$queue" --json | jq --arg n "$1" '.nodes[$n]')" = "$2" ]
}

@test "status shows the tasks in flight per node and how long ago the oldest running one was submitted" {
    start_redis
    run -0 poolrun submit --queue "$queue" --id a sh -c 'until [ -e go ]; do sleep 0.05; done'
    run -0 poolrun submit --queue "$queue" --id b sh -c 'until [ -e go ]; do sleep 0.05; done'
    run -0 poolrun submit --queue "$queue" --id c true
    run -0 poolrun status --queue "$queue" --json
    [ "$(jq .oldest_running_s <<<"$output")" = null ]
    [ "$(jq -c .nodes <<<"$output")" = "{}" ]
    start_worker w1 -j 1 --node east
    wait_for 10 running_on east 1
    start_worker w2 -j 1 --node west
    wait_for 10 running_on west 1
    run -0 poolrun status --queue "$queue" --json
    [ "$(jq .running <<<"$output")" -eq 2 ]
    [ "$(jq .waiting <<<"$output")" -eq 1 ]
    [ "$(jq '.oldest_running_s >= 0' <<<"$output")" = true ]
    run -0 poolrun status --queue "$queue"
    [ "${lines[1]%% submitted*}" = "oldest running task" ]
    [ "$(printf '%s\n' "${lines[@]:2}" | sort | tr '\n' '|')" = "node east: 1 running|node west: 1 running|" ]
    touch go
    run -0 poolrun join --queue "$queue" --timeout 20
    run -0 poolrun status --queue "$queue" --json
    [ "$(jq -c .nodes <<<"$output")" = "{}" ]
}

@test "SIGTERM: the running task finishes, the unstarted one goes back to a peer at once" {
    start_redis
    run -0 poolrun submit --queue "$queue" --id first sh -c \
        'touch started; until [ -e go ]; do sleep 0.05; done; echo first >>ran'
    run -0 poolrun submit --queue "$queue" --id second sh -c 'echo second >>ran'
    # --delay holds the second task back: fetched, but not started.
    start_worker w1 -j 2 --delay 60 --grace 30
    wait_for 10 all_exist started
    wait_for 10 sh -c '[ "$("$POOLRUN" status --queue "$1" --json | jq .running)" -eq 2 ]' _ "$queue"
    w1=$worker
    kill -TERM "$w1"
    # A peer with the default 20 s lease takes it only if it was handed back.
    "$POOLRUN" worker --queue "$queue" --block 0.2 -j 1 >w2.out 2>w2.err &
    workers+=("$!")
    wait_for 15 grep -qx second ran
    touch go
    wait_status "$w1" 143
    run -0 poolrun join --queue "$queue" --timeout 20 --results res.jsonl
    [ "$(sort ran | tr '\n' ' ')" = "first second " ]
    [ "$(jq -r 'select(.id == "second") | .attempt' res.jsonl)" = "1" ]
    [ "$(jq -r 'select(.id == "first") | .node' res.jsonl)" != "$(jq -r 'select(.id == "second") | .node' res.jsonl)" ]
}

@test "SIGTERM: a task still running after --grace is stopped and run again by a peer" {
    start_redis
    run -0 poolrun submit --queue "$queue" --id stubborn sh -c \
        'echo run >>runs; [ -e first ] && exit 0; touch first; exec sleep 60'
    start_worker w1 -j 1 --grace 0.3
    wait_for 10 all_exist first
    w1=$worker
    kill -TERM "$w1"
    wait_status "$w1" 143
    "$POOLRUN" worker --queue "$queue" --block 0.2 -j 1 >w2.out 2>w2.err &
    workers+=("$!")
    run -0 poolrun join --queue "$queue" --timeout 15 --results res.jsonl
    [ "$(wc -l <runs)" -eq 2 ]
    [ "$(jq -r .status res.jsonl)" = "ok" ]
    [ "$(jq -r .attempt res.jsonl)" = "1" ]
}

@test "Redis stopped and started again: the worker keeps its tasks, connects again, and join has every result" {
    redis_aof=yes
    start_redis
    # a ends while Redis is away (its result waits), b after it is back.
    for t in a b; do
        run -0 poolrun submit --queue "$queue" --id "$t" sh -c \
            'echo $1 >>runs; touch started.$1; until [ -e go.$1 ]; do sleep 0.05; done; echo $1' _ "$t"
    done
    run -0 poolrun submit --queue "$queue" --id c echo c
    start_worker w -j 2
    wait_for 10 all_exist started.a started.b
    stop_redis
    touch go.a
    wait_for 10 grep -q 'connecting again (running tasks go on' w.err
    restart_redis
    wait_for 20 grep -q 'connected again' w.err
    touch go.b
    run -0 poolrun join --queue "$queue" --timeout 30 --results res.jsonl
    [ "$(jq -j .stdout res.jsonl | sort | tr -d '\n')" = "abc" ]
    [ "$(jq -r .attempt res.jsonl | sort -u)" = "1" ]
    [ "$(sort runs | tr -d '\n')" = "ab" ]
}

@test "close refuses later submits; cancel records a waiting task skipped" {
    start_redis
    run -0 poolrun submit --queue "$queue" --id later true
    run -1 poolrun cancel --queue "$queue" later nosuch
    [ "${lines[0]}" = "later: cancelled" ]
    [ "${lines[1]}" = "nosuch: unknown" ]
    run -0 poolrun close --queue "$queue"
    run -255 poolrun submit --queue "$queue" true
    [[ $output == *"the queue is closed"* ]]
    run -0 poolrun join --queue "$queue" --timeout 5 --results -
    [ "$(jq -r .status <<<"$output")" = "skipped" ]
}

@test "the password comes from POOLRUN_REDIS_PASSWORD and is never shown" {
    start_redis 'pw-Secret-42'
    export POOLRUN_REDIS_PASSWORD='pw-Secret-42'
    run -0 poolrun submit --queue "$queue" --id t sh -c 'env >task.env; touch started; until [ -e go ]; do sleep 0.05; done'
    start_worker w -j 1
    wait_for 10 all_exist started
    run -0 ps -eo args
    [[ $output != *pw-Secret-42* ]]
    [[ $(cat task.env) != *pw-Secret-42* ]]
    touch go
    run -0 poolrun join --queue "$queue" --timeout 20
    [[ $(cat w.out w.err) != *pw-Secret-42* ]]
    export POOLRUN_REDIS_PASSWORD='wrong-Secret-7'
    run -255 poolrun status --queue "$queue"
    [[ $output == "poolrun: status: redis://127.0.0.1:$port/q: not allowed (password?): WRONGPASS"* ]]
    [[ $output != *Secret* ]]
    unset POOLRUN_REDIS_PASSWORD
    run -255 poolrun status --queue "$queue"
    [[ $output == *"NOAUTH"* ]]
}

@test "--password-file gives the password" {
    start_redis 'file-Secret-9'
    printf 'file-Secret-9\n' >pw
    run -0 poolrun submit --queue "$queue" --password-file pw true
    run -0 poolrun status --queue "$queue" --password-file pw --json
    [ "$(jq .submitted <<<"$output")" -eq 1 ]
}

@test "a URL that holds a password is refused, saying why, without repeating it" {
    run -255 poolrun status --queue 'redis://ci:url-Secret-1@127.0.0.1:1/q'
    [ "$output" = "poolrun: status: --queue: a password in the URL would be seen by every user (ps): set POOLRUN_REDIS_PASSWORD or use --password-file" ]
    run -255 poolrun worker --queue 'redis://:url-Secret-1@127.0.0.1:1/q'
    [[ $output != *url-Secret-1* ]]
}

@test "a worker or client that cannot reach Redis says so in one line and exits 255" {
    port=$(free_port)
    run -255 poolrun worker --queue "redis://127.0.0.1:$port/q" -j 1
    [ "$output" = "poolrun: redis://127.0.0.1:$port: cannot connect: Connection refused" ]
    run -255 poolrun status --queue "redis://127.0.0.1:$port/q"
    [ "$output" = "poolrun: status: redis://127.0.0.1:$port/q: cannot connect: Connection refused" ]
}

@test "the jobs/redis example runs: two workers, every file counted once" {
    start_redis
    cd "$PR_SRC"
    run -0 sh jobs/redis/two-workers.sh "$queue" "$POOLRUN"
    [ "${#lines[@]}" -eq 3 ]
    [ "$(jq -j .stdout <<<"$output" | sort | tr '\n' '|')" = "10 jobs/files/b c.txt|2 jobs/files/a.txt|2 jobs/files/it's.txt|" ]
    run -0 sh -n jobs/redis/ssh-workers.sh
    run -0 sh -n jobs/redis/slurm.sbatch
}

@test "worker --help names every worker option, and --help names worker" {
    run -0 poolrun worker --help
    for opt in --queue --node --lease --renew --block --attempts --grace \
        --password-file --redis-timeout; do
        [[ $output == *"$opt"* ]] || { echo "missing $opt" >&2; return 1; }
    done
    run -0 poolrun --help
    [[ $output == *"poolrun worker [OPTIONS]"* ]]
}

@test "the man page documents every worker option" {
    command -v mandoc >/dev/null || skip "mandoc is not installed"
    # col -b: the page as plain text, without overstruck bold.
    run -0 sh -c 'mandoc -Tascii "$1" | col -b' _ "$PR_SRC/man/poolrun.1"
    for opt in --queue --node --lease --renew --block --attempts \
        --password-file --redis-timeout POOLRUN_REDIS_PASSWORD POOLRUN_QUEUE; do
        [[ $output == *"$opt"* ]] || { echo "missing $opt" >&2; return 1; }
    done
}

@test "a poolrun built without Redis support says so" {
    run -255 poolrun status --queue redis://127.0.0.1:1/q
    [[ $output == *"built without Redis support"* ]]
    run -255 poolrun worker --queue redis://127.0.0.1:1/q
    [[ $output == *"built without Redis support"* ]]
}
