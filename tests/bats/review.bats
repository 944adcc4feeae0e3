#!/usr/bin/env bats
# A hostile review of issue 11's fixes: each test is a defect the review
# found (it failed before its fix).
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
    pid= g=
}

teardown() {
    # A test that failed must not leave a stopped guardian and its poolrun.
    if [ -n "$g" ]; then kill -CONT "$g" 2>/dev/null || true; fi
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
}

# The pid of poolrun's guardian (its child named poolrun-guard), if any.
guardian_of() {
    ps -o pid=,comm= --ppid "$1" | awk '$2 == "poolrun-guard" { print $1 }'
}

has_guardian() {
    [ -n "$(guardian_of "$1")" ]
}

@test "a retried task that a dying worker hands back is recorded once per attempt" {
    # Each item kills the first worker that reads it: its task fails and is
    # retried, and the tasks that worker held go back to the queue, retries
    # among them.  Each attempt is one results row, whatever was requeued.
    cat >w.sh <<'SH'
while read -r x; do
    if [ ! -e "$D/$x.died" ]; then : >"$D/$x.died"; exit 3; fi
    echo "$x"
done
SH
    D=$PWD run -0 --separate-stderr poolrun -j 1 --retries 3 --results r.jsonl \
        --workers "sh $PWD/w.sh" ::: a b c d
    [ "$(sort <<<"$output")" = $'a\nb\nc\nd' ]
    [ "$(jq -c 'select(.final|not) | [.seq,.attempt,.exit]' r.jsonl | sort)" = \
        $'[1,1,3]\n[2,1,3]\n[3,1,3]\n[4,1,3]' ]
    [ "$(jq -c 'select(.final) | [.seq,.attempt,.status]' r.jsonl | sort)" = \
        $'[1,2,"ok"]\n[2,2,"ok"]\n[3,2,"ok"]\n[4,2,"ok"]' ]
}

@test "a run whose guardian was stopped still ends" {
    # SIGSTOP to the guardian's pid alone (a debugger, a supervisor):
    # poolrun must not wait for ever for it to take its signal to go.
    mkfifo go
    "$POOLRUN" 'cat go; : {}' ::: a >out 2>err &
    pid=$!
    wait_for 10 has_guardian "$pid"
    g=$(guardian_of "$pid")
    kill -STOP "$g"
    echo >go
    wait_for 10 not_alive "$pid"
    wait_status "$pid" 0
}

@test "a service that passes its timeout is a timeout, not a service that did its job" {
    # The other task ends only once the service's record is written.
    cat >jobs.json <<'JSON'
{"tasks":[{"id":"svc","cmd":"sleep 30","daemon":true,"timeout":0.3},
 {"cmd":"until grep -q '\"svc\"' r.jsonl 2>/dev/null; do sleep 0.01; done; echo main"}]}
JSON
    run -1 --separate-stderr poolrun -f jobs.json --results r.jsonl
    [ "$output" = main ]
    [[ $stderr == *"service (svc)"*"timed out"* ]]
    [ "$(jq -r 'select(.id == "svc") | .status' r.jsonl)" = timeout ]
}
