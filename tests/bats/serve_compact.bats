#!/usr/bin/env bats
# poolrun serve compacts its journal when finished records dominate it:
# what a restart brings back is the same before and after.
bats_require_minimum_version 1.5.0
# Its own start_service and teardown, below, stand in for these.
load serve_helpers

setup_file() {
    # The journal's records, as the service reads them (lib/journal.h):
    # "START END TYPE ID..." for each whole record; TYPE 1 a submit (no
    # ids: they are numbered on replay), 2 a final record, 3 a start, 4
    # finished tasks written by compaction (their ids).
    cat >"$BATS_FILE_TMPDIR/journal.py" <<'PY'
import json, struct, sys

data = open(sys.argv[1], 'rb').read()
if data[:8] != b'poolrunJ':
    sys.exit('not a journal: ' + sys.argv[1])
off = 12
while off + 10 <= len(data):
    magic, typ, n, crc = struct.unpack_from('<BBII', data, off)
    end = off + 10 + n
    if magic != 0xA7 or typ == 0 or end > len(data):
        break
    rec = json.loads(data[off + 10:end])
    if typ == 4:
        ids = [t[0] for t in rec['tasks']]
    else:
        ids = [rec.get('id', '')]
    print(off, end, typ, *ids)
    off = end
PY
}

setup() {
    load helpers
    serve_setup
    holder=""
    PY=/usr/bin/python3
    [ -x "$PY" ] || PY=python3
    # Compaction's floor, low enough for a test's journal (the default is
    # 1 MiB).
    export POOLRUN_COMPACT_MIN=4096
}

teardown() {
    local pid
    [ -z "$holder" ] || gate_open
    pid=$(service_pid) || true
    if [ -n "$pid" ]; then
        "$POOLRUN" shutdown >/dev/null 2>&1 || true
        wait_for 10 not_alive "$pid" || kill -9 "$pid"
    fi
    if [ -n "$server" ] && alive "$server"; then
        kill -9 "$server"
    fi
}

start_service() {
    "$POOLRUN" serve "$@" >>"$BATS_TEST_TMPDIR/serve.out" 2>&1 3>&- &
    server=$!
    wait_for 10 answering
}

kill9() {
    kill -9 "$server"
    wait "$server" || true
}

journal_records() {
    "$PY" "$BATS_FILE_TMPDIR/journal.py" "$state/journal"
}

# has_records TYPE: the journal holds a record of TYPE.
has_records() {
    journal_records | awk -v t="$1" '$3 == t {f = 1} END {exit !f}'
}

# runs/ID holds one line per start of task ID.
started_once() {
    local id
    for id in "$@"; do
        [ "$(wc -l <"runs/$id")" -eq 1 ] || {
            echo "task $id started $(wc -l <"runs/$id") times" >&2
            return 1
        }
    done
}

@test "many finished tasks: the journal shrinks, and a restart keeps each one's status and output" {
    # First without compaction, for the size it would have.
    POOLRUN_COMPACT_MIN=1000000000 start_service -j 4
    for n in $(seq 1 300); do echo "echo out-$n; exit $((n % 3))"; done >lines
    run -0 poolrun submit <lines
    run -101 poolrun join
    run -0 poolrun shutdown
    wait_status "$server" 0
    before=$(stat -c %s "$state/journal")
    [ "$before" -gt 30000 ]
    run -1 has_records 4
    # A task's end compacts it.
    start_service -j 4
    run -0 poolrun submit --wait true
    wait_for 10 has_records 4
    after=$(stat -c %s "$state/journal")
    echo "journal: $before bytes, compacted $after"
    [ "$after" -lt $((before / 3)) ]
    # No final record is left but maybe the last task's, written after.
    [ -z "$(journal_records | awk '$3 == 2 && $4 != 301')" ]
    kill9
    start_service -j 4
    for n in 1 2 3 150 299 300; do
        run -"$((n % 3))" poolrun wait "$n"
    done
    run -0 poolrun log 299
    [ "$output" = "out-299" ]
    run -0 poolrun wait 301
    # The queue's -j came back too.
    run -0 poolrun status --json
    [ "$(jq '.queues[0].jobs' <<<"$output")" -eq 4 ]
}

@test "after a compaction and a restart, unfinished tasks run once each and no id is given twice" {
    mkdir runs
    gate_close
    start_service -j 1
    # Queue held: 1 runs and waits at the gate; 2 to 51 wait behind it.
    run -0 poolrun submit --queue held sh -c 'echo $PPID >>runs/1; flock -s gate.lock true'
    [ "$output" = 1 ]
    for n in $(seq 2 51); do echo "echo \$PPID >>runs/$n"; done >lines
    run -0 poolrun submit --queue held <lines
    # Queue fast: 52 to 451 end, and the journal is compacted.
    yes true | head -n 400 >fast
    run -0 poolrun submit --queue fast -j 2 <fast
    [ "${lines[-1]}" = 451 ]
    run -0 poolrun join fast
    wait_for 10 has_records 4
    # 1 began: its start record is kept.
    [ "$(journal_records | awk '$3 == 3 && $4 == 1' | wc -l)" -eq 1 ]
    kill9
    start_service -j 1
    run -0 poolrun wait 52 451
    # The submit of 1 to 51, read again after finished tasks up to 451,
    # does not take the service's numbers back.
    run -0 poolrun submit --queue fast true
    [ "$output" = 452 ]
    run -0 poolrun submit --queue fast --id 460 true
    run -0 poolrun submit --queue fast true
    [ "$output" = 461 ]
    gate_open
    run -0 poolrun join held
    run -0 poolrun wait $(seq 1 51)
    # 1 ran again (it was running: a new attempt); the rest once.
    [ "$(wc -l <runs/1)" -eq 2 ]
    run -0 started_once $(seq 2 51)
}

@test "--after a task that compaction kept as finished: success lets the child run, failure skips it" {
    start_service -j 2
    run -0 poolrun submit --id parent-ok true
    run -0 poolrun submit --id parent-bad false
    yes true | head -n 300 >fill
    run -0 poolrun submit <fill
    run -1 poolrun join
    wait_for 10 has_records 4
    kill9
    start_service -j 2
    run -0 poolrun submit --id child-ok --after parent-ok touch ran-ok
    run -0 poolrun submit --id child-bad --after parent-bad touch ran-bad
    run -0 poolrun wait child-ok child-bad
    [ -e ran-ok ]
    [ ! -e ran-bad ]
    run -0 poolrun submit --wait true
    # And again after another compaction and restart, while held.
    run -0 poolrun submit --id late-bad --after parent-bad:any touch ran-any
    run -0 poolrun wait late-bad
    [ -e ran-any ]
}

# A journal with many finished tasks and 20 unfinished ones, compaction
# off: saved in saved/.
make_big_state() {
    mkdir runs
    gate_close
    POOLRUN_COMPACT_MIN=1000000000 start_service -j 1
    run -0 poolrun submit --queue held --id first sh -c 'flock -s gate.lock true'
    for n in $(seq 1 20); do echo "{\"id\":\"u$n\",\"cmd\":\"echo \$PPID >>runs/u$n\"}"; done >unfinished
    run -0 poolrun submit --queue held --json <unfinished
    for n in $(seq 1 3000); do echo "exit $((n % 4))"; done >lines
    run -0 poolrun submit --queue done -j 1 --id blocker sh -c 'flock -s gate.lock true'
    run -0 poolrun submit --queue done <lines
    # Recorded skipped, one final record each.
    run -0 poolrun cancel $(seq 1 3000)
    for n in $(seq 1 400); do echo "exit $((n % 4))"; done >ran
    run -0 poolrun submit --queue ran -j 2 <ran
    [ "${lines[-1]}" = 3400 ]
    run -101 poolrun join ran
    kill9
    gate_open
    cp -r "$state" saved
}

# check_state: what make_big_state left is all there, the unfinished
# tasks unfinished; a new task gets the next number.
check_state() {
    run -0 poolrun wait $(seq 1 3000)
    run -3 poolrun wait 3003
    run -0 poolrun wait 3004
    run -2 poolrun wait 3002
    run -0 poolrun status --json
    [ "$(jq '.queues[] | select(.name == "held") | .unfinished' <<<"$output")" -eq 21 ]
    run -0 poolrun submit --queue other true
    [ "$output" = 3401 ]
}

@test "kill -9 while the journal is compacted, or just after, loses nothing" {
    make_big_state
    size=$(stat -c %s saved/journal)
    # A service started on it compacts the journal at its first turn's end.
    cp -r saved "$state.copy"
    mv "$state.copy" "$state"
    gate_close
    start_service -j 1
    wait_for 10 has_records 4
    kill9
    cp "$state/journal" compacted
    echo "journal: $size bytes, compacted $(stat -c %s compacted)"
    [ "$(stat -c %s compacted)" -lt $((size / 2)) ]
    for k in $(seq 1 9); do
        rm -rf "$state"
        cp -r saved "$state"
        case $((k % 3)) in
        0)
            # At once: while it reads the journal, or compacts it.
            "$POOLRUN" serve -j 1 >>serve.out 2>&1 3>&- &
            server=$!
            kill9
            ;;
        1)
            # Killed as it wrote journal.new: a torn one is left beside it.
            head -c $((k * 4000)) compacted >"$state/journal.new"
            ;;
        2)
            # Just after.
            start_service -j 1
            wait_for 10 has_records 4
            kill9
            ;;
        esac
        echo "kill $k: journal $(stat -c %s "$state/journal") bytes"
        start_service -j 1
        check_state
        [ ! -e "$state/journal.new" ]
        [ "$k" -eq 9 ] || kill9
    done
    # The last service runs the unfinished tasks, each once.
    gate_open
    run -0 poolrun join held
    for n in $(seq 1 20); do
        run -0 started_once "u$n"
    done
}

@test "a POOLRUN_COMPACT_MIN that is not a size is named, and serve does not start" {
    POOLRUN_COMPACT_MIN=lots run -255 "$POOLRUN" serve
    [ "$output" = 'poolrun: serve: POOLRUN_COMPACT_MIN: not a size in bytes (such as 4096 or 16M): lots' ]
    [ ! -e "$sock" ]
}
