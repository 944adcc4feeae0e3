#!/usr/bin/env bats
# Records of what ran: the results file (JSON Lines) and --resume.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
}

# rec FILE SEQ FILTER: FILTER holds for the last record of task SEQ.
rec() {
    jq -e -s "map(select(.seq == $2)) | last | $3" "$1" >/dev/null
}

# Every line of FILE is one JSON object.
valid_jsonl() {
    jq -e -s 'all(type == "object")' "$1" >/dev/null
}

@test "--results writes one JSON object per attempt, the last one final" {
    printf '%s\n' 'echo hi' 'echo x >> tries; [ "$(wc -l < tries)" -ge 2 ]' 'exit 3' >lines
    run --separate-stderr poolrun -j 1 --retries 1 --results r.jsonl <lines
    [ "$status" -eq 1 ]
    valid_jsonl r.jsonl
    # seq 1 once; seq 2 twice (failed, then ok); seq 3 twice (failed both).
    [ "$(jq -c '[.seq, .attempt, .status, .exit, .final]' r.jsonl | sort)" = "$(printf '%s\n' \
        '[1,1,"ok",0,true]' '[2,1,"failed",1,false]' '[2,2,"ok",0,true]' \
        '[3,1,"failed",3,false]' '[3,2,"failed",3,true]')" ]
    [ "$(jq -r 'select(.seq == 1) | .stdout' r.jsonl)" = hi ]
    [ "$(jq -r 'select(.seq == 1) | .stdout_bytes' r.jsonl)" = 3 ]
    [ "$(jq -r 'select(.seq == 1) | .command' r.jsonl)" = 'echo hi' ]
    rec r.jsonl 1 '(.start > 1000000000) and (.runtime >= 0) and (.pid > 0) and (.slot == 1)'
}

@test "--results names signals, timeouts and tasks that never started" {
    printf '%s\n' 'kill -USR1 $$' 'exec sleep 1000' 'cd /nonexistent' >lines
    cat >jobs.json <<'EOF'
{"tasks": [{"id": "gone", "cmd": "true", "cwd": "no/such/dir"}]}
EOF
    run --separate-stderr poolrun -j 3 --timeout 0.3 --results r.jsonl <lines
    rec r.jsonl 1 '.status == "killed" and .signal == 10 and .exit == null'
    rec r.jsonl 2 '.status == "timeout"'
    rec r.jsonl 3 '.status == "failed" and .exit == 2'
    run --separate-stderr poolrun --results r2.jsonl -f jobs.json
    jq -e '.id == "gone" and .status == "error" and .exit == 126 and (.error | test("cannot enter its cwd"))' r2.jsonl
}

@test "--results records skipped tasks with the reason" {
    run --separate-stderr poolrun -j 1 --halt soon,fail=1 --results r.jsonl sh -c 'exit $0' ::: 2 0 0
    [ "$status" -eq 2 ]
    [ "$(jq -c 'select(.status == "skipped") | [.seq, .reason, .attempt]' r.jsonl)" = \
        "$(printf '%s\n' '[2,"halt",0]' '[3,"halt",0]')" ]
}

@test "--results keeps output up to --results-limit and says it was cut" {
    run --separate-stderr poolrun --results r.jsonl --results-limit 1K \
        sh -c 'head -c 5000 /dev/zero | tr "\0" a' ::: x
    [ "$status" -eq 0 ]
    [ "${#output}" -eq 5000 ]
    [ "$(jq -r '.stdout | length' r.jsonl)" = 1024 ]
    jq -e '.stdout_bytes == 5000 and .stdout_truncated == true' r.jsonl
    run poolrun --results r0.jsonl --results-limit 0 echo ::: hi
    jq -e '(has("stdout") | not) and .stdout_bytes == 3' r0.jsonl
}

@test "--results keeps output that spilled to a file, and output under -u" {
    run --separate-stderr poolrun --buffer-size 1K --results r.jsonl \
        sh -c 'seq 2000' ::: x
    [ "$(jq -r .stdout r.jsonl)" = "$(seq 2000)" ]
    run --separate-stderr poolrun -u --results u.jsonl echo ::: hello
    [ "$output" = hello ]
    [ "$(jq -r .stdout u.jsonl)" = hello ]
    # -k: the oldest task's output goes straight out; the record keeps it.
    # Task 1 goes on only once task 2 has ended (its row is in the job
    # log): task 2's output waited in its capture.
    run --separate-stderr poolrun -k -j 2 --buffer-size 1K --results k.jsonl --joblog log \
        sh -c 'echo early; [ $0 = 2 ] || until [ "$(wc -l < log)" -ge 2 ]; do sleep 0.01; done; seq $0' ::: 3000 2
    [ "$(jq -r 'select(.seq == 1) | .stdout' k.jsonl)" = "$(echo early; seq 3000)" ]
    [ "$(jq -r 'select(.seq == 2) | .stdout' k.jsonl)" = "$(echo early; seq 2)" ]
}

@test "--results writes bytes that are not UTF-8 as base64, exactly" {
    run --separate-stderr poolrun --results r.jsonl printf '\377\376 ok\n' ::: ''
    [ "$status" -eq 0 ]
    valid_jsonl r.jsonl
    jq -r .stdout_base64 r.jsonl | base64 -d >got
    printf '\377\376 ok\n' >want
    cmp got want
    # Text that is UTF-8 stays text, escapes and all.
    run poolrun --results t.jsonl printf 'caf\303\251 "q" \\ \t\001\n' ::: ''
    [ "$(jq -r .stdout t.jsonl)" = "$(printf 'caf\303\251 "q" \\ \t\001')" ]
}

@test "a killed poolrun leaves a results file that is valid up to its last record" {
    {
        for i in $(seq 20); do echo "echo $i"; done
        echo 'echo $$ > stuck; exec sleep 1000'
    } >lines
    "$POOLRUN" -j 2 --results r.jsonl <lines >/dev/null 2>&1 &
    pid=$!
    wait_for 20 test -e stuck
    wait_for 20 bash -c '[ "$(wc -l < r.jsonl)" -ge 20 ]'
    kill -KILL "$pid"
    wait "$pid" || true
    kill -KILL "$(cat stuck)"
    valid_jsonl r.jsonl
    [ "$(jq -r .seq r.jsonl | sort -n | tr '\n' ' ')" = "$(seq 20 | tr '\n' ' ')" ]
}

@test "--results that cannot be opened stops poolrun before anything runs" {
    run poolrun --results /nonexistent/dir/r.jsonl touch ran ::: x
    [ "$status" -eq 255 ]
    [[ $output == *"--results /nonexistent/dir/r.jsonl: no such file or directory"* ]]
    [ ! -e ran ]
}

@test "--resume skips the tasks the job log lists and adds to it" {
    seq 5 >items
    # First run: only items 1-3.
    head -3 items >first
    run -0 poolrun -j 1 --joblog log -a first sh -c 'echo $0 >> ran'
    [ "$(joblog_rows log | wc -l)" -eq 3 ]
    run -0 poolrun -j 1 --joblog log --resume --results r.jsonl -a items sh -c 'echo $0 >> ran'
    [ "$(cat ran | tr '\n' ' ')" = "1 2 3 4 5 " ]
    # One header, five rows.
    [ "$(grep -c '^Seq' log)" -eq 1 ]
    [ "$(joblog_rows log | cut -f1 | tr '\n' ' ')" = "1 2 3 4 5 " ]
    [ "$(jq -c 'select(.status == "skipped") | [.seq, .reason]' r.jsonl | tr '\n' ' ')" = \
        '[1,"resume"] [2,"resume"] [3,"resume"] ' ]
}

@test "--resume skips failed tasks too; --resume-failed runs them again" {
    printf '%s\n' 'echo a >> ran' '[ -e fixed ] || exit 1; echo b >> ran' >lines
    run poolrun -j 1 --joblog log <lines
    [ "$status" -eq 1 ]
    touch fixed
    run -0 poolrun -j 1 --joblog log --resume <lines
    [ "$(cat ran)" = a ]
    run -0 poolrun -j 1 --joblog log --resume-failed <lines
    [ "$(cat ran | tr '\n' ' ')" = "a b " ]
    run -0 poolrun -j 1 --joblog log --resume-failed <lines
    [ "$(cat ran | tr '\n' ' ')" = "a b " ]
}

@test "interrupted half way with SIGINT, a resumed run completes every task exactly once" {
    # Tasks 1-6 finish at once; 7-12 wait until `go` exists.
    for i in $(seq 12); do
        if [ "$i" -le 6 ]; then echo "echo $i >> ran"; else
            echo "echo $i >> started; until [ -e go ]; do sleep 0.01; done; echo $i >> ran"; fi
    done >lines
    "$POOLRUN" -j 3 --joblog log <lines >/dev/null 2>err &
    pid=$!
    wait_for 20 bash -c '[ "$(wc -l < started 2>/dev/null)" -ge 3 ]'
    kill -INT "$pid"
    wait_status "$pid" 130
    [ ! -e go ]
    touch go
    # The three that were interrupted failed; the rest never started.
    run -0 --separate-stderr poolrun -j 3 --joblog log --resume-failed <lines
    [ "$(sort -n ran | tr '\n' ' ')" = "$(seq 12 | tr '\n' ' ')" ]
    # Every seq has exactly one successful row in the job log.
    [ "$(joblog_rows log | awk -F'\t' '$7 == 0 && $8 == 0 {print $1}' | sort -n | tr '\n' ' ')" = \
        "$(seq 12 | tr '\n' ' ')" ]
}

@test "--resume needs --joblog, and says so" {
    run poolrun --resume true
    [ "$status" -eq 255 ]
    [[ $output == *"--resume needs --joblog FILE"* ]]
}

@test "--resume refuses a file that is not a job log, naming the line, and leaves it alone" {
    printf '{"seq":1}\n1\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n' >log
    cp log before
    run poolrun --joblog log --resume touch ran ::: x
    [ "$status" -eq 255 ]
    [ "$output" = "poolrun: --resume: log:1: not a job log (its first line is not the header)" ]
    [ ! -e ran ]
    cmp log before
}
