#!/usr/bin/env bats
# poolrun serve under stress: kill -9 at many moments, torn and full
# journals, many clients at once, a client of another uid.  Each test has
# its own socket folder and state folder, so its own service.
bats_require_minimum_version 1.5.0
# Its own start_service and teardown, below, stand in for these.
load serve_helpers

setup_file() {
    # What a service left on disk, read as it reads it (lib/journal.h):
    # one line per whole record up to the first bad one (a torn tail):
    # "START END TYPE ID...", TYPE 1 a submit (its tasks' ids), 2 a final
    # record, 3 an attempt's start (its task's id), 4 finished tasks that
    # compaction wrote (their ids).
    cat >"$BATS_FILE_TMPDIR/journal.py" <<'PY'
import json, struct, sys

TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    TABLE.append(c)

def crc32c(crc, data):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF

data = open(sys.argv[1], 'rb').read()
if data[:8] != b'poolrunJ':
    sys.exit('not a journal: ' + sys.argv[1])
off = 12
while off + 10 <= len(data):
    magic, typ, n, crc = struct.unpack_from('<BBII', data, off)
    end = off + 10 + n
    if magic != 0xA7 or typ == 0 or end > len(data):
        break
    payload = data[off + 10:end]
    if crc32c(crc32c(0, data[off + 1:off + 6]), payload) != crc:
        break
    rec = json.loads(payload)
    ids = [rec.get('id', '')]
    if typ == 4:
        ids = [t[0] for t in rec.get('tasks', [])]
    if typ == 1:
        # The ids the service gave: a line's own, else its next number.
        ids, nxt = [], rec.get('next', 0)
        for line in rec.get('jsonl', '').split('\n'):
            if not line:
                continue
            own = json.loads(line).get('id')
            if own is None:
                nxt += 1
                own = str(nxt)
            elif own.isdigit() and int(own) > nxt:
                nxt = int(own)
            ids.append(own)
    print(off, end, typ, *ids)
    off = end
PY
}

setup() {
    load helpers
    serve_setup
    holder=""
    mounted=""
    public=""
    # A python without a version manager's shim in front (it costs a second).
    PY=/usr/bin/python3
    [ -x "$PY" ] || PY=python3
}

teardown() {
    local pid
    [ -z "$public" ] || rm -rf "$public"
    # Tasks (and tasks of killed services) waiting at the gate end.
    [ -z "$holder" ] || gate_open
    # A test that stopped its service.
    [ -z "$server" ] || kill -CONT "$server" 2>/dev/null || true
    # A test that opened the socket folder up: clients refuse it so.
    if [ -d "$XDG_RUNTIME_DIR/poolrun" ]; then
        chmod 700 "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/poolrun"
    fi
    pid=$(service_pid) || true
    if [ -n "$pid" ]; then
        "$POOLRUN" shutdown >/dev/null 2>&1 || true
        wait_for 10 not_alive "$pid" || kill -9 "$pid"
    fi
    # Its own service, even unreachable, does not outlive the test.
    if [ -n "$server" ] && alive "$server"; then
        kill -9 "$server"
    fi
    if [ -n "$mounted" ]; then
        umount "$mounted" || umount -l "$mounted"
    fi
    case $XDG_RUNTIME_DIR in /tmp/poolrun-stress.*) rm -rf "$XDG_RUNTIME_DIR" ;; esac
}

# start_service ARGS...: poolrun serve in the background, without bats'
# fd 3, until it answers.
start_service() {
    "$POOLRUN" serve "$@" >>"$BATS_TEST_TMPDIR/serve.out" 2>&1 3>&- &
    server=$!
    wait_for 10 answering
}

# kill9 PID: kill -9 the service and wait until it is gone, and its locks
# with it.
kill9() {
    kill -9 "$1"
    if [ "$1" = "$server" ]; then
        wait "$1" || true
    else
        wait_for 10 not_alive "$1"
    fi
}

# The journal's records as journal.py prints them.
journal_records() {
    [ ! -e "$state/journal" ] || "$PY" "$BATS_FILE_TMPDIR/journal.py" "$state/journal"
}

# The ids that have a final record in the journal, one a line.
journal_finals() {
    journal_records | awk '$3 == 2 {print $4}'
}

# has_lines FILE N: FILE holds at least N lines.
has_lines() {
    [ -e "$1" ] || return 1
    [ "$(wc -l <"$1")" -ge "$2" ]
}

# started_by PID ID...: each task has run under the service PID (its
# marker file runs/ID holds the pid of the service that started it).
started_by() {
    local pid=$1 id
    shift
    for id in "$@"; do
        grep -qx "$pid" "runs/$id" 2>/dev/null || return 1
    done
}

# --- the crash test's parts ----------------------------------------------
#
# Every task appends the pid of the service that started it ($PPID: the
# service spawns it) to runs/ID, so each line is one start and says by
# whom.  A client's printed ids (acked.*) are the acknowledged tasks.
# Before the test starts a service, it notes the final records on disk
# (snap.PID): that service must not start any of those tasks.

# The service now running, started by a client on demand or by the test;
# a service that no snap file describes is only listed.
note_service() {
    local pid
    pid=$(service_pid)
    echo "$pid" >>servers
    current=$pid
}

# restart: after a kill, no service running: starts one, the journal's
# final records noted first.
restart() {
    journal_finals >snapshot
    start_service -j 2
    mv snapshot "snap.$server"
    echo "$server" >>servers
    current=$server
}

# After a kill and its client's end: the service a client started on
# demand meanwhile, or a new one.
ensure_service() {
    if answering; then
        note_service
    else
        restart
    fi
}

# submit_loop PREFIX COUNT: PREFIX-1, PREFIX-2... one a submit, until a
# submit fails or the file `stop` is there.
submit_loop() {
    local i id
    for ((i = 1; i <= $2; i++)); do
        [ ! -e stop ] || return 0
        id=$1-$i
        "$POOLRUN" submit --id "$id" sh -c 'echo $PPID >>runs/$0' "$id" \
            >>"acked.$1" 2>>errors || return 0
    done
}

# bulk_loop PREFIX SUBMITS TASKS: SUBMITS bulk submits of TASKS tasks each
# (JSON Lines with ids), until one fails or `stop` is there.
bulk_loop() {
    local s i id
    for ((s = 1; s <= $2; s++)); do
        [ ! -e stop ] || return 0
        for ((i = 1; i <= $3; i++)); do
            id=$1-$s-$i
            printf '{"id":"%s","cmd":"echo $PPID >>runs/%s"}\n' "$id" "$id"
        done >"bulk.$1"
        "$POOLRUN" submit --json <"bulk.$1" >>"acked.$1" 2>>errors || return 0
    done
}

# Kill during single submits, after 1 to 7 acknowledged ids.
crash_singles() {
    local k=$1 loop
    rm -f stop
    submit_loop "s$k" 40 3>&- &
    loop=$!
    wait_for 20 has_lines "acked.s$k" $((1 + k % 7))
    touch stop
    kill9 "$current"
    wait "$loop"
    ensure_service
}

# Kill during bulk submits of 20 tasks, after 1 to 4 of them, while the
# tasks of those run.
crash_bulk() {
    local k=$1 loop
    rm -f stop
    bulk_loop "b$k" 5 20 3>&- &
    loop=$!
    wait_for 20 has_lines "acked.b$k" $((20 * (1 + k % 4)))
    touch stop
    kill9 "$current"
    wait "$loop"
    ensure_service
}

# Kill while two tasks run (held at the gate) and a finished one has its
# final record; the two run again as new attempts.  (All on one queue:
# with two, a task of one can hang; see "a task's end is its own
# queue's" below.)
crash_running() {
    local k=$1 id
    # Nothing else runs: the two held tasks take both slots.
    "$POOLRUN" join --timeout 60 >/dev/null
    gate_close
    "$POOLRUN" submit --id "f$k" sh -c 'echo $PPID >>runs/$0' "f$k" >>"acked.f$k"
    "$POOLRUN" wait --timeout 60 "f$k" >/dev/null
    for id in "h$k-1" "h$k-2"; do
        "$POOLRUN" submit --id "$id" \
            sh -c 'echo $PPID >>runs/$0; flock -s gate.lock true' "$id" >>"acked.h$k"
    done
    # The first runs now; the second too unless the queue's -j is 1 (a
    # service a client started has the machine's number of CPUs).
    wait_for 20 started_by "$current" "h$k-1"
    kill9 "$current"
    restart
    gate_open
}

# Kill a service as it starts: at once, or once it listens (while it reads
# the journal and starts its tasks again).
crash_startup() {
    local k=$1 i
    for i in 1 2 3; do
        "$POOLRUN" submit --id "d$k-$i" sh -c 'echo $PPID >>runs/$0' "d$k-$i" >>"acked.d$k"
    done
    kill9 "$current"
    rm -f "$sock"
    journal_finals >snapshot
    "$POOLRUN" serve -j 2 >>serve.out 2>&1 3>&- &
    server=$!
    mv snapshot "snap.$server"
    echo "$server" >>servers
    if ((k % 8 == 7)); then
        wait_for 10 test -S "$sock"
    fi
    kill9 "$server"
    restart
}

# Starts that break a rule: twice by one service (a line of a pid that
# is no service's is a start whose service was killed before the shell
# began: its parent is init), or by a service that had read the task's
# final record.  "runs/ID:PID", one a line.
bad_starts() {
    { grep -rH . runs/ || true; } | sort >starts
    uniq -d starts | awk -F: 'NR == FNR {s[$1]; next} $2 in s' servers -
    awk '{print "runs/" $0 ":" substr(FILENAME, 6)}' snap.* | sort | comm -12 starts -
}

@test "kill -9 at 50 moments loses no acknowledged task and starts none again after its final record" {
    mkdir runs
    : >servers
    restart
    for k in $(seq 1 50); do
        case $((k % 4)) in
        0) crash_singles "$k" ;;
        1) crash_bulk "$k" ;;
        2) crash_running "$k" ;;
        3) crash_startup "$k" ;;
        esac
        # Every task acknowledged so far is known to the service again.
        run poolrun wait --timeout 0.01 $(cat acked.*)
        echo "after kill $k: $output"
        [ "$status" -ne 255 ]
        bad=$(bad_starts)
        echo "after kill $k, starts against the rules: $bad"
        [ -z "$bad" ]
    done
    mapfile -t acked < <(cat acked.*)
    # Each reaches a final record, and succeeds.
    run -0 poolrun wait --timeout 60 "${acked[@]}"
    # Each ran.
    missing=$(for id in "${acked[@]}"; do [ -s "runs/$id" ] || echo "$id"; done)
    [ -z "$missing" ]
    bad=$(bad_starts)
    echo "starts against the rules: $bad"
    [ -z "$bad" ]
    # The journal holds one final record per task, no more.
    run -0 poolrun shutdown
    wait_for 10 not_alive "$current"
    doubled=$(journal_finals | sort | uniq -d)
    echo "two final records: $doubled"
    [ -z "$doubled" ]
    without=$(printf '%s\n' "${acked[@]}" | sort | comm -23 - <(journal_finals | sort))
    echo "no final record: $without"
    [ -z "$without" ]
    echo "${#acked[@]} tasks acknowledged, $(wc -l <starts) starts by $(wc -l <servers) services, $(cat snap.* | wc -l) final records read by $(ls snap.* | wc -l) of them"
}

# zombie PID: the process has exited and nobody has reaped it yet.
zombie() {
    [[ $(ps -o stat= -p "$1") == Z* ]]
}

@test "a task's end is its own queue's: another queue does not reap it" {
    start_service -j 2
    run -0 poolrun submit --queue other true
    run -0 poolrun wait 1
    mkfifo gate
    run -0 poolrun submit --id held sh -c 'cat gate >/dev/null'
    wait_for 10 sh -c '"$POOLRUN" status | grep -q "running held"'
    pid=$("$POOLRUN" status --json | jq '.queues[] | select(.name == "default") | .running[0].pid')
    # The task ends while the service is stopped: a zombie, until the
    # service reaps it...
    kill -STOP "$server"
    echo go >gate
    wait_for 10 zombie "$pid"
    # ...after every queue's 1 s timer for adopted children has come due
    # (time must pass: there is no event to wait for).
    sleep 1.1
    kill -CONT "$server"
    run -0 poolrun wait --timeout 10 held
}

@test "a queue holds more waiting tasks than the one-shot command reads ahead, and so does a restart" {
    start_service -j 1
    mkfifo gate
    run -0 poolrun submit --id first sh -c 'cat gate >/dev/null'
    # More than --queue-size's default (1024) waiting behind the first.
    yes true | head -n 1500 >lines
    run -0 poolrun submit <lines
    [ "${#lines[@]}" -eq 1500 ]
    run -0 poolrun status --json
    [ "$(jq '.queues[0].unfinished' <<<"$output")" -eq 1501 ]
    # ...and again from the journal, after a crash.
    kill9 "$server"
    start_service -j 1
    run -0 poolrun status --json
    [ "$(jq '.queues[0].unfinished' <<<"$output")" -eq 1501 ]
}

@test "a journal torn in the middle of a record keeps every task acknowledged before it" {
    mkdir runs
    start_service -j 2
    # (Not `i`: bats' own functions set it.)
    for t in t1 t2 t3 t4; do
        run -0 poolrun submit --id "$t" sh -c 'echo $PPID >>runs/$0' "$t"
        run -0 poolrun wait "$t"
    done
    for t in u1 u2 u3; do
        printf '{"id":"%s","cmd":"echo $PPID >>runs/%s"}\n' "$t" "$t"
    done >bulk
    run -0 poolrun submit --json <bulk
    run -0 poolrun wait u1 u2 u3
    run -0 poolrun shutdown
    wait_status "$server" 0
    cp "$state/journal" whole
    journal_records >all
    # Each task's start record (type 3) is left out of the cuts below: a
    # cut there loses what follows as any other does.
    [ "$(awk '$3 == 3' all | wc -l)" -eq 7 ]
    awk '$3 != 3' all >records
    # 4 submits, 4 final records, a bulk submit and its 3 final records.
    [ "$(wc -l <records)" -eq 12 ]
    cuts=0
    while read -r start end type ids; do
        # In the record's header, in its payload, one byte short.
        for off in $((start + 5)) $((start + 10 + (end - start - 10) / 2)) $((end - 1)); do
            echo "record $start-$end (type $type, $ids) cut at $off"
            cp whole "$state/journal"
            truncate -s "$off" "$state/journal"
            # Acknowledged before the torn record: each task's submit.
            before=$(awk -v s="$start" '$2 <= s && $3 == 1 {for (i = 4; i <= NF; i++) print $i}' records)
            done_before=$(awk -v s="$start" '$2 <= s && $3 == 2 {print $4}' records)
            start_service -j 2
            if [ -n "$before" ]; then
                run -0 poolrun wait $before
            fi
            # The torn submit is gone, all of it.
            if [ "$type" = 1 ]; then
                for id in $ids; do
                    run -255 poolrun wait "$id"
                    [ "$output" = "poolrun: wait: wait: no task $id" ]
                done
            fi
            # What had its final record did not run again.
            for id in $done_before; do
                run -1 grep -qx "$server" "runs/$id"
            done
            run -0 poolrun shutdown --drain
            wait_status "$server" 0
            cuts=$((cuts + 1))
        done
    done <records
    [ "$cuts" -eq 36 ]
}

@test "after a torn tail is cut, what the service appends survives the next crash" {
    mkdir runs
    start_service
    for id in kept torn; do
        run -0 poolrun submit --id "$id" sh -c 'echo $PPID >>runs/$0' "$id"
        run -0 poolrun wait "$id"
    done
    run -0 poolrun shutdown
    wait_status "$server" 0
    # Cut into the last record: torn's final record.
    size=$(stat -c %s "$state/journal")
    truncate -s $((size - 5)) "$state/journal"
    start_service
    run -0 poolrun wait kept torn
    run -0 poolrun submit --id later sh -c 'echo $PPID >>runs/$0' later
    run -0 poolrun wait later
    # The service answers wait before it syncs the final record, at the end
    # of that turn of its loop: a later request's answer says it has.
    run -0 poolrun status
    kill9 "$server"
    start_service
    run -0 poolrun wait kept torn later
    # torn ran again once, as its final record was cut; nothing else did.
    [ "$(wc -l <runs/kept)" -eq 1 ]
    [ "$(wc -l <runs/torn)" -eq 2 ]
    [ "$(wc -l <runs/later)" -eq 1 ]
}

@test "a full disk refuses a submit with one clear line and loses nothing acknowledged" {
    mkdir small runs
    if ! mount -t tmpfs -o size=256k tmpfs small 2>mount.err; then
        skip "cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): $(cat mount.err)"
    fi
    mounted=$PWD/small
    start_service -j 2 --state "$PWD/small"
    # Each submit's record holds the submitter's environment: 8 KiB more of
    # it fills 256 KiB in some 30 submits.
    PAD=$(head -c 8192 /dev/zero | tr '\0' x)
    export PAD
    n=0
    refused=""
    while [ "$n" -lt 200 ]; do
        id=f$((n + 1))
        if ! "$POOLRUN" submit --id "$id" sh -c 'echo x >>runs/$0' "$id" >>acked 2>refusal; then
            refused=$id
            break
        fi
        n=$((n + 1))
    done
    echo "$n submits taken; then: $(cat refusal)"
    [ -n "$refused" ]
    [ "$n" -gt 5 ]
    [ "$(wc -l <acked)" -eq "$n" ]
    [ "$(wc -l <refusal)" -eq 1 ]
    [[ "$(cat refusal)" == "poolrun: submit: cannot write the journal: no space left on device"* ]]
    # The refused task is not there; the service goes on.
    run -255 poolrun wait "$refused"
    [ "$output" = "poolrun: wait: wait: no task $refused" ]
    run -0 poolrun wait $(cat acked)
    # A crash on the full disk: every acknowledged task comes back.
    kill9 "$server"
    start_service -j 2 --state "$PWD/small"
    run -0 poolrun wait $(cat acked)
    run -255 poolrun wait "$refused"
    # With room again, submits are taken, and kept.
    mount -o remount,size=4m "$mounted"
    run -0 poolrun submit --id roomy true
    [ "$output" = "roomy" ]
    run -0 poolrun wait roomy
    kill9 "$server"
    start_service -j 2 --state "$PWD/small"
    run -0 poolrun wait roomy $(cat acked)
    all_exist $(sed 's|^|runs/|' acked)
}

# client C: waits at the gate, then submits 3 tasks: C odd, one submit each
# with its own --id; C even, one bulk submit of 3 lines (the service numbers
# them).  Each task appends its own token to `effects`.
client() {
    local c=$1 i
    flock -s gate.lock true
    if ((c % 2)); then
        for i in 1 2 3; do
            "$POOLRUN" submit --id "c$c-$i" sh -c 'echo $0 >>effects' "c$c-$i" || return
        done
    else
        printf 'echo c%s-%s >>effects\n' "$c" 1 "$c" 2 "$c" 3 | "$POOLRUN" submit
    fi
}

# fifty_clients: 50 clients at once; each one's ids in out.C.
fifty_clients() {
    local c pids=()
    gate_close
    for c in $(seq 1 50); do
        client "$c" >"out.$c" 2>"err.$c" 3>&- &
        pids+=($!)
    done
    gate_open
    for c in $(seq 1 50); do
        wait_status "${pids[c - 1]}" 0
    done
}

# check_fifty: 150 distinct ids, each to a final record, each task's
# effect once.
check_fifty() {
    cat err.*
    [ "$(cat out.* | wc -l)" -eq 150 ]
    [ -z "$(sort out.* | uniq -d)" ]
    run -0 poolrun wait $(cat out.*)
    for c in $(seq 1 50); do printf 'c%s-%s\n' "$c" 1 "$c" 2 "$c" 3; done | sort >expected
    sort effects >got
    diff expected got
}

@test "50 clients submitting at once lose and double no task" {
    start_service -j 2
    fifty_clients
    check_fifty
}

@test "50 clients submitting at once with no service running start one between them" {
    fifty_clients
    check_fifty
    run -0 poolrun status --json
    [ "$(jq '.queues[0].total' <<<"$output")" -eq 150 ]
}

# as_nobody CMD...: as uid 65534, with this test's socket folder.
as_nobody() {
    setpriv --reuid=65534 --regid=65534 --clear-groups \
        env XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" XDG_STATE_HOME=/nonexistent HOME=/nonexistent "$@"
}

@test "a client of another uid gets one clear line and a failure; the service is unaffected" {
    # A socket folder the stranger can reach the door of (bats' own
    # temporary folders are closed to it).
    XDG_RUNTIME_DIR=$(mktemp -d /tmp/poolrun-stress.XXXXXX)
    export XDG_RUNTIME_DIR
    sock="$XDG_RUNTIME_DIR/poolrun/serve.sock"
    start_service -j 2
    run -0 poolrun submit --id mine true
    run -0 poolrun wait mine
    pid=$(service_pid)
    public=$(public_poolrun)
    for verb in status "submit true" "wait mine" join shutdown; do
        run -255 as_nobody "$public/poolrun" $verb
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == "poolrun: ${verb%% *}: the socket folder $XDG_RUNTIME_DIR/poolrun"*"permission denied" ]]
    done
    chmod 711 "$XDG_RUNTIME_DIR"
    for verb in status "submit true" shutdown; do
        run -255 as_nobody "$public/poolrun" $verb
        [[ "$output" == "poolrun: ${verb%% *}: the socket folder $XDG_RUNTIME_DIR/poolrun"*"is owned by another user" ]]
    done
    # Through a folder opened up by hand the service itself refuses the
    # stranger (SO_PEERCRED), whatever it asks.  It answers and hangs up
    # at once, without reading the request: a send may find the
    # connection closed already, and the answer is still there to read.
    chmod 711 "$XDG_RUNTIME_DIR/poolrun"
    chmod 777 "$sock"
    for msg in '{"op":"shutdown"}' '{"op":"submit","jsonl":"{\"cmd\":\"true\"}\n"}'; do
        run -0 as_nobody "$PY" -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
m = sys.argv[2].encode()
try:
    s.sendall(struct.pack(">I", len(m)) + m)
except BrokenPipeError:
    pass
n = struct.unpack(">I", s.recv(4))[0]; print(s.recv(n).decode())' "$sock" "$msg"
        [[ "$output" == *'"ok":false'*"uid 65534 may not use it"* ]]
    done
    chmod 700 "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/poolrun"
    run -0 poolrun status --json
    [ "$(jq .pid <<<"$output")" = "$pid" ]
    [ "$(jq '[.queues[].total] | add' <<<"$output")" -eq 1 ]
    run -0 poolrun submit --wait true
    run -0 poolrun shutdown
    wait_status "$server" 0
    rm -rf "$XDG_RUNTIME_DIR"
}
