# Shared set-up for poolrun's command-line tests.
# POOLRUN names the binary under test (ctest sets it); PR_SRC the source tree.

: "${PR_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${POOLRUN:=$PR_SRC/build/poolrun}"
export POOLRUN PR_SRC
BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-60}

# poolrun from the tests' point of view.
poolrun() {
    "$POOLRUN" "$@"
}

# wait_for SECONDS COMMAND...: poll COMMAND until it succeeds, at most
# SECONDS; fail (and say what) if it never does.  For events a test cannot
# wait for exactly, such as "this task has started".
wait_for() {
    local limit=$1
    shift
    local deadline=$((SECONDS + limit))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            echo "wait_for: timed out after ${limit}s: $*" >&2
            return 1
        fi
        sleep 0.01
    done
}

# all_exist FILE...: every file named exists.
all_exist() {
    local f
    for f in "$@"; do [ -e "$f" ] || return 1; done
}

# alive PID: the process exists and is not a zombie.
alive() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ -n $state && $state != Z* ]]
}

# not_alive PID
not_alive() {
    ! alive "$1"
}

# joblog_has_rows FILE N: the joblog holds at least N task rows.
joblog_has_rows() {
    [ -e "$1" ] && [ "$(($(wc -l <"$1") - 1))" -ge "$2" ]
}

# Lines of a joblog, header excluded.
joblog_rows() {
    tail -n +2 "$1"
}

# wait_status PID STATUS: wait for background job PID and check its exit
# status.  (Not `run wait`: bats runs that in a subshell, which cannot
# wait for its parent's children.)
wait_status() {
    local rc=0
    wait "$1" || rc=$?
    if [ "$rc" -ne "$2" ]; then
        echo "wait_status: pid $1 exited $rc, expected $2" >&2
        return 1
    fi
}

# public_poolrun: a copy of poolrun that uid 65534 may run (the build tree
# may sit in a folder only root can enter), in a new folder under /tmp;
# prints that folder.  The caller removes it.
public_poolrun() {
    local dir
    dir=$(mktemp -d /tmp/poolrun-public.XXXXXX)
    chmod 755 "$dir"
    cp "$POOLRUN" "$dir/poolrun"
    echo "$dir"
}

# serving PID: the queue service that answers on the socket is PID (not
# one a killed service left a socket file for).
serving() {
    [ "$("$POOLRUN" status --json 2>/dev/null | jq .pid)" = "$1" ]
}

# The man page's examples, as a shell would read them, one per line.
man_examples() {
    awk '/^\.SH / {in_ex = ($2 == "EXAMPLES")}
         in_ex && /^\.nf/ {on = 1; ex = ""; next}
         in_ex && /^\.fi/ {on = 0; print ex; next}
         on {ex = ex (ex == "" ? "" : "\n") $0}' "$PR_SRC/man/poolrun.1" |
        sed 's/\\-/-/g; s/\\e/\\/g; s/\\(aq/'"'"'/g'
}
