# What the serve*.bats files share: each test its own socket folder and
# journal, so its own service; the service it starts; and its end.
# Load after helpers: `load helpers; load serve_helpers; serve_setup`.

# serve_setup: cd to the test's folder; XDG_RUNTIME_DIR (the socket's
# folder, 0700) and XDG_STATE_HOME (the journal's) below it; sets
# $state, $sock and an empty $server.
serve_setup() {
    cd "$BATS_TEST_TMPDIR"
    export XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
    mkdir -m 700 "$XDG_RUNTIME_DIR"
    export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
    state="$XDG_STATE_HOME/poolrun"
    sock="$XDG_RUNTIME_DIR/poolrun/serve.sock"
    server=""
}

# The service's pid, as status reports it.
service_pid() {
    "$POOLRUN" status --json 2>/dev/null | jq -e .pid
}

# start_service ARGS...: poolrun serve in the background, listening; its
# output in serve.out.
start_service() {
    "$POOLRUN" serve "$@" >"$BATS_TEST_TMPDIR/serve.out" 2>&1 &
    server=$!
    # Its own answer, not a socket a killed service left behind.
    wait_for 10 serving "$server"
}

# A service answers (a socket file may be a killed service's).
answering() {
    "$POOLRUN" status >/dev/null 2>&1
}

# gate_close: from now until gate_open, a task running
# `flock -s gate.lock true` waits there (every such task, of any
# service).  A holder process ($holder) keeps the lock's exclusive side.
gate_close() {
    rm -f "$BATS_TEST_TMPDIR/ready" "$BATS_TEST_TMPDIR/release"
    mkfifo "$BATS_TEST_TMPDIR/ready" "$BATS_TEST_TMPDIR/release"
    flock -x "$BATS_TEST_TMPDIR/gate.lock" sh -c 'echo held >"$0"; cat "$1" >/dev/null' \
        "$BATS_TEST_TMPDIR/ready" "$BATS_TEST_TMPDIR/release" 3>&- &
    holder=$!
    read -r _ <"$BATS_TEST_TMPDIR/ready"
}

gate_open() {
    echo go >"$BATS_TEST_TMPDIR/release"
    wait "$holder"
    holder=""
}

# serve_teardown: the service the test started ends, by shutdown if it
# answers, else by SIGKILL (a test that failed half way may leave it).
serve_teardown() {
    local pid
    pid=$(service_pid) || pid=$server
    if [ -n "$pid" ] && alive "$pid"; then
        "$POOLRUN" shutdown >/dev/null 2>&1 || true
        wait_for 10 not_alive "$pid" || kill -9 "$pid"
    fi
    if [ -n "$server" ] && alive "$server"; then
        kill -9 "$server"
    fi
}
