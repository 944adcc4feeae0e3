#!/usr/bin/env bats
# Records cut short and rows that cannot be read: --resume and
# --resume-failed skip and name them, run their tasks again, and never
# append onto a fragment; a write error stops the writes to that file.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
    HEADER=$'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand'
}

teardown() {
    if [ -n "${copier:-}" ]; then
        kill "$copier" 2>/dev/null || true
    fi
    if mountpoint -q "$BATS_TEST_TMPDIR/disk" 2>/dev/null; then
        umount "$BATS_TEST_TMPDIR/disk"
    fi
}

# row SEQ EXITVAL COMMAND: a whole joblog row, newline included.
row() {
    printf '%s\t:\t1700000000.000\t   0.010\t0\t0\t%s\t0\t%s\n' "$1" "$2" "$3"
}

# Every line of a joblog but line SKIP is its header or a whole row.
rows_whole_but() {
    awk -F'\t' -v skip="$2" 'NR == skip || $0 == hdr {next}
        !(NF >= 9 && $1 ~ /^[0-9]+$/ && $7 ~ /^-?[0-9]+$/ && $8 ~ /^[0-9]+$/) {
            print FILENAME ":" NR ": not a row: " $0; bad = 1}
        END {exit bad}' hdr="$HEADER" "$1"
}

# Every line of a results file but line SKIP is one JSON object.
json_but() {
    local n=0 line
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        [ "$n" -ne "$2" ] || continue
        jq -e 'type == "object"' <<<"$line" >/dev/null || {
            echo "$1:$n: not JSON: ${line:0:80}" >&2
            return 1
        }
    done <"$1"
}

@test "--resume skips a joblog row cut short, names it, runs its task again and starts on a fresh line" {
    { echo "$HEADER"; row 1 0 'echo a'; row 2 0 'echo b'; printf '3\t:\t17000'; } >log
    cp log before
    run -0 --separate-stderr poolrun -j 1 --joblog log --resume sh -c 'echo $0 >> ran' ::: a b c d
    [ "$stderr" = "poolrun: --resume: log:4: the last line is not a whole row (cut short?): skipped" ]
    [ "$(cat ran | tr '\n' ' ')" = "c d " ]
    # The fragment is line 4 as it was, and nothing was appended onto it.
    [ "$(sed -n 4p log)" = "$(printf '3\t:\t17000')" ]
    [ "$(head -c "$(stat -c %s before)" log)" = "$(cat before)" ]
    [ "$(joblog_rows log | cut -f1 | tr '\n' ' ')" = "1 2 3 3 4 " ]
    rows_whole_but log 4
    # Later, the fragment is a bad row among others: named, skipped.
    run -0 --separate-stderr poolrun -j 1 --joblog log --resume sh -c 'echo $0 >> ran' ::: a b c d
    [ "$stderr" = "poolrun: --resume: log:4: not a row of a job log: skipped" ]
    [ "$(cat ran | tr '\n' ' ')" = "c d " ]
}

@test "--resume-failed runs again the failed task and the one whose row is cut short, even a row whole but for its newline" {
    # Row 3 has every field, but no newline: poolrun was killed before
    # the write ended, so the row does not count.
    { echo "$HEADER"; row 1 0 'echo a'; row 2 1 'echo b'; printf '3\t:\t1700000000.000\t   0.010\t0\t0\t0\t0\tec'; } >log
    run -0 --separate-stderr poolrun -j 1 --joblog log --resume-failed sh -c 'echo $0 >> ran' ::: a b c d
    [ "$stderr" = "poolrun: --resume: log:4: the last line is not a whole row (cut short?): skipped" ]
    [ "$(cat ran | tr '\n' ' ')" = "b c d " ]
    [ "$(sed -n 4p log)" = "$(printf '3\t:\t1700000000.000\t   0.010\t0\t0\t0\t0\tec')" ]
    [ "$(joblog_rows log | cut -f1,7 | tr '\t\n' ': ')" = "1:0 2:1 3:0 2:0 3:0 4:0 " ]
    rows_whole_but log 4
}

@test "a last row that is whole but not a row is skipped as cut short" {
    { echo "$HEADER"; row 1 0 'echo a'; printf '2\t:\tgarbage\n'; } >log
    run -0 --separate-stderr poolrun -j 1 --joblog log --resume sh -c 'echo $0 >> ran' ::: a b
    [ "$stderr" = "poolrun: --resume: log:3: the last line is not a whole row (cut short?): skipped" ]
    [ "$(cat ran)" = b ]
}

@test "--resume names a results record cut short, leaves it, and writes on the next line" {
    { echo "$HEADER"; row 1 0 'echo a'; row 2 0 'echo b'; printf '3\t:\t1700000000.0'; } >log
    {
        echo '{"seq":1,"item":"a","status":"ok","exit":0,"final":true}'
        echo '{"seq":2,"item":"b","status":"ok","exit":0,"final":true}'
        printf '{"seq":3,"item":"c","command":"echo c","status":"ok","exit":0,"stdout":"c\\n'
    } >r.jsonl
    cp r.jsonl before
    run -0 --separate-stderr poolrun -j 1 --joblog log --results r.jsonl --resume echo ::: a b c d
    [ "${stderr_lines[0]}" = "poolrun: --resume: log:4: the last line is not a whole row (cut short?): skipped" ]
    [ "${stderr_lines[1]}" = "poolrun: --resume: r.jsonl:3: the last record is cut short: left as it is, new records start on the next line" ]
    [ "${#stderr_lines[@]}" -eq 2 ]
    [ "$output" = "$(printf 'c\nd')" ]
    # The fragment stays line 3, untouched; every other line is JSON.
    [ "$(sed -n 3p r.jsonl)" = "$(sed -n 3p before)" ]
    [ "$(head -c "$(stat -c %s before)" r.jsonl)" = "$(cat before)" ]
    json_but r.jsonl 3
    [ "$(sed 3d r.jsonl | jq -c 'select(.status != "skipped" and .final) | [.seq, .status]' | tr '\n' ' ')" = \
        '[1,"ok"] [2,"ok"] [3,"ok"] [4,"ok"] ' ]
    [ "$(sed 3d r.jsonl | jq -c 'select(.reason == "resume") | .seq' | tr '\n' ' ')" = "1 2 " ]
}

@test "--resume skips rows whose Seq is not a whole number from 1 to 2^64-1, and does not size anything by it" {
    # On main, 999999999999999 or -1 asked for petabytes: out of memory,
    # exit 134.
    {
        echo "$HEADER"
        row -1 0 'echo x'
        row 999999999999999 0 'echo y'
        row 1 0 'echo a'
        row abc 0 'echo z'
        row 18446744073709551616 0 'echo w'
        row 18446744073709551615 0 'echo v'
        row 0 0 'echo u'
        row 3 0 'echo c'
    } >log
    run -0 --separate-stderr poolrun -j 1 --joblog log --resume sh -c 'echo $0 >> ran' ::: a b c
    [ "$(cat ran)" = b ]
    [ "${stderr_lines[0]}" = "poolrun: --resume: log:2: not a row of a job log: skipped" ]
    [ "${stderr_lines[1]}" = "poolrun: --resume: log:5: not a row of a job log: skipped" ]
    [ "${stderr_lines[2]}" = "poolrun: --resume: log:6: not a row of a job log: skipped" ]
    [ "${stderr_lines[3]}" = "poolrun: --resume: log:8: not a row of a job log: skipped" ]
    [ "${#stderr_lines[@]}" -eq 4 ]
}

@test "past ten rows that cannot be read, --resume counts the rest" {
    { echo "$HEADER"; for i in $(seq 15); do echo "junk $i"; done; row 1 0 'echo a'; } >log
    run -0 --separate-stderr poolrun -j 1 --joblog log --resume sh -c 'echo $0 >> ran' ::: a b
    [ "$(cat ran)" = b ]
    [ "${#stderr_lines[@]}" -eq 11 ]
    [ "${stderr_lines[0]}" = "poolrun: --resume: log:2: not a row of a job log: skipped" ]
    [ "${stderr_lines[9]}" = "poolrun: --resume: log:11: not a row of a job log: skipped" ]
    [ "${stderr_lines[10]}" = "poolrun: --resume: log: 5 more lines that are not rows of a job log: skipped" ]
}

@test "a joblog that is not a regular file is not read for ever" {
    # /dev/zero never ends: on main, --resume read it until memory ran out.
    run -255 --separate-stderr timeout 20 "$POOLRUN" --joblog /dev/full --resume echo ::: a
    [ "$stderr" = "poolrun: --joblog /dev/full: no space left on device" ]
}

@test "a results file that cannot be written is said at the end, and the tasks still run" {
    run -255 --separate-stderr poolrun -j 1 --results /dev/full sh -c 'echo $0 >> ran' ::: a b c
    [ "$(cat ran | tr '\n' ' ')" = "a b c " ]
    [ "$stderr" = "poolrun: writing the results: no space left on device" ]
}

# small_disk: a 64 KiB tmpfs at ./disk with 15 of its 16 pages taken by
# disk/filler, so that the first file written there gets 4096 bytes.
small_disk() {
    [ "$(id -u)" -eq 0 ] || skip "needs root to mount a small tmpfs"
    mkdir disk
    mount -t tmpfs -o size=64k tmpfs disk || skip "cannot mount a tmpfs here"
    head -c 61440 /dev/zero >disk/filler
}

@test "a full disk cuts a joblog row short; no row is glued to it once there is room, and --resume runs its task again" {
    small_disk
    # Rows of about 1.5 KB: the header and rows 1 and 2 fit, row 3 is cut
    # short.  Task 4 then makes room: rows written now would be glued to
    # the fragment.
    pad=$(head -c 1400 /dev/zero | tr '\0' x)
    for i in 1 2 3 4 5; do
        if [ "$i" = 4 ]; then echo ": $pad; rm -f disk/filler; echo $i >> ran"; else
            echo ": $pad; echo $i >> ran"; fi
    done >lines
    run -255 --separate-stderr poolrun -j 1 --joblog disk/log <lines
    [ "$stderr" = "poolrun: writing the joblog: no space left on device" ]
    # Every task ran: poolrun goes on, and says so at the end.
    [ "$(cat ran | tr '\n' ' ')" = "1 2 3 4 5 " ]
    [ "$(stat -c %s disk/log)" -eq 4096 ]
    [ "$(tail -c 1 disk/log | od -An -c | tr -d ' ')" = x ]
    [ "$(joblog_rows disk/log | wc -l)" -eq 2 ]
    rm ran
    run -0 --separate-stderr poolrun -j 1 --joblog disk/log --resume <lines
    [ "$stderr" = "poolrun: --resume: disk/log:4: the last line is not a whole row (cut short?): skipped" ]
    [ "$(cat ran | tr '\n' ' ')" = "3 4 5 " ]
    rows_whole_but disk/log 4
    [ "$(joblog_rows disk/log | cut -f1 | sed 3d | tr '\n' ' ')" = "1 2 3 4 5 " ]
}

@test "a full disk cuts a results record short; no record is glued to it once there is room, and --resume names it" {
    small_disk
    # Records of about 1.7 KB: 1 and 2 fit, 3 is cut short, task 4 makes
    # room.
    for i in 1 2 3 4 5; do
        if [ "$i" = 4 ]; then echo "rm -f disk/filler; head -c 1500 /dev/zero | tr '\0' $i"; else
            echo "head -c 1500 /dev/zero | tr '\0' $i"; fi
    done >lines
    run -255 --separate-stderr poolrun -j 1 --joblog log --results disk/r.jsonl <lines
    [ "$stderr" = "poolrun: writing the results: no space left on device" ]
    [ "$(joblog_rows log | wc -l)" -eq 5 ]
    [ "$(stat -c %s disk/r.jsonl)" -eq 4096 ]
    [ "$(wc -l <disk/r.jsonl)" -eq 2 ]
    # The job log says every task ran: --resume runs none, and adds the
    # records of the skipped tasks after the fragment, not onto it.
    run -0 --separate-stderr poolrun -j 1 --joblog log --results disk/r.jsonl --resume <lines
    [ "$stderr" = "poolrun: --resume: disk/r.jsonl:3: the last record is cut short: left as it is, new records start on the next line" ]
    [ "$output" = "" ]
    json_but disk/r.jsonl 3
    [ "$(sed 3d disk/r.jsonl | jq -c '[.seq, .status]' | tr '\n' ' ')" = \
        '[1,"ok"] [2,"ok"] [1,"skipped"] [2,"skipped"] [3,"skipped"] [4,"skipped"] [5,"skipped"] ' ]
}

@test "kill -9 while poolrun writes a large record, then --resume: the record's task runs again" {
    # The results go through a FIFO to a copier that keeps the first
    # 1000000 bytes and then stops reading, the FIFO still open: poolrun's
    # write of the 4 MB record blocks part way, for certain.
    mkfifo r.fifo
    { head -c 1000000 >r.jsonl; exec sleep 1000; } <r.fifo &
    copier=$!
    printf '%s\n' 'echo small' 'head -c 4000000 /dev/zero | tr "\0" a' 'echo after' >lines
    "$POOLRUN" -j 1 --results-limit 8M --buffer-size 8M --results r.fifo --joblog log <lines >/dev/null 2>err &
    pid=$!
    wait_for 20 bash -c '[ "$(stat -c %s r.jsonl 2>/dev/null)" = 1000000 ]'
    kill -KILL "$pid"
    wait_status "$pid" 137
    kill "$copier"
    copier=
    # The record of task 2 is cut short; the job log never got its row.
    [ "$(wc -l <r.jsonl)" -eq 1 ]
    [ "$(joblog_rows log | cut -f1)" = 1 ]
    run -0 --separate-stderr poolrun -j 1 --results-limit 8M --results r.jsonl --joblog log --resume <lines
    [ "$stderr" = "poolrun: --resume: r.jsonl:2: the last record is cut short: left as it is, new records start on the next line" ]
    [ "$(sed -n 2p r.jsonl | wc -c)" -eq $((1000000 - $(head -1 r.jsonl | wc -c) + 1)) ]
    json_but r.jsonl 2
    [ "$(sed 2d r.jsonl | jq -c '[.seq, .status, .stdout_bytes]' | tr '\n' ' ')" = \
        '[1,"ok",6] [1,"skipped",null] [2,"ok",4000000] [3,"ok",6] ' ]
    [ "$(joblog_rows log | cut -f1 | tr '\n' ' ')" = "1 2 3 " ]
}
