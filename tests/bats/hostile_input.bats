#!/usr/bin/env bats
# Hostile input: directories and unreadable inputs, time values out of
# range, endless lines, and the odd corners of -a, --json and job files.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
    bg_pid=
}

teardown() {
    if [ -n "$bg_pid" ]; then
        kill -9 "$bg_pid" 2>/dev/null || true
    fi
}

# --- time values: one range, whatever their source -------------------------

@test "a job file's timeout past the range of time values is refused before anything runs" {
    echo '{"tasks":[{"cmd":"touch ran","timeout":1e20}]}' >jobs.json
    run -255 --separate-stderr poolrun -f jobs.json
    [ "$stderr" = "poolrun: jobs.json:1:40: tasks[0].timeout: must be a number of seconds from 0 to 1000000000" ]
    [ ! -e ran ]
}

@test "a job file's default timeout past the range is refused too" {
    echo '{"defaults":{"timeout":1e10},"tasks":[{"cmd":"touch ran"}]}' >jobs.json
    run -255 --separate-stderr poolrun -f jobs.json
    [ "$stderr" = "poolrun: jobs.json:1:24: defaults.timeout: must be a number of seconds from 0 to 1000000000" ]
    [ ! -e ran ]
}

@test "a --json task's timeout past the range is refused" {
    run -255 --separate-stderr poolrun --json <<<'{"cmd":"touch ran","timeout":1e20}'
    [ "$stderr" = "poolrun: <stdin>:1:30: timeout: must be a number of seconds from 0 to 1000000000" ]
    [ ! -e ran ]
}

@test "the longest timeout allowed does not end a task early" {
    echo '{"tasks":[{"cmd":"sleep 0.3; echo hi","timeout":1000000000}]}' >jobs.json
    run -0 --separate-stderr poolrun -f jobs.json
    [ "$output" = hi ]
    [ -z "$stderr" ]
}

@test "every time option has the same range, with its own message" {
    local opt
    for opt in --kill-after --delay --grace; do
        run -255 --separate-stderr poolrun "$opt" 1e20 true
        [ "$stderr" = "poolrun: $opt: '1e20' is not a number of seconds (0 to 1000000000)"$'\n'"Try 'poolrun --help'." ]
    done
    run -255 --separate-stderr poolrun --timeout nan true
    [ "${stderr_lines[0]}" = "poolrun: --timeout: 'nan' is not a number of seconds (0 to 1000000000)" ]
    run -255 --separate-stderr poolrun --retry-delay 1e10x2 true
    [ "${stderr_lines[0]}" = "poolrun: --retry-delay: '1e10x2' is not SECS or SECSxFACTOR (SECS 0 to 1000000000, FACTOR 1 to 1000)" ]
}

# --- inputs that are not files, and inputs that fail -------------------------

@test "a directory on stdin is refused with a message, not an abort" {
    run -255 --separate-stderr poolrun echo ran </tmp
    [ "$stderr" = "poolrun: stdin: is a directory" ]
    [ -z "$output" ]
}

@test "a directory as a shell-line input is refused the same way" {
    run -255 --separate-stderr poolrun </tmp
    [ "$stderr" = "poolrun: stdin: is a directory" ]
}

@test "a directory given to -a is refused before anything runs" {
    echo first >items
    run -255 --separate-stderr poolrun -a items -a /tmp touch
    [ "$stderr" = "poolrun: -a /tmp: is a directory" ]
    [ ! -e first ]
}

@test "-a - with a directory on stdin is refused" {
    run -255 --separate-stderr poolrun -a - echo </tmp
    [ "$stderr" = "poolrun: -a -: is a directory" ]
}

@test "a directory on stdin with --json is refused" {
    run -255 --separate-stderr poolrun --json </tmp
    [ "$stderr" = "poolrun: stdin: is a directory" ]
}

@test "a directory as a job file is refused" {
    run -255 --separate-stderr poolrun -f /tmp
    [ "$stderr" = "poolrun: /tmp: is a directory" ]
}

@test "an input that cannot be read is poolrun's error, not an empty input" {
    run -255 --separate-stderr poolrun -a /proc/self/mem touch ran
    [ "$stderr" = "poolrun: -a /proc/self/mem: i/o error" ]
    [ -z "$output" ]
    [ ! -e ran ]
}

@test "a read error runs the whole lines read before it, not the cut-off last one, and exits 255" {
    command -v python3 >/dev/null || skip "no python3"
    run -255 --separate-stderr python3 "$PR_SRC/tests/bats/reset_input.py" \
        'touch started\necho whole\necho cut-off' started "$POOLRUN" -k
    [ "$output" = whole ]
    [ "$stderr" = "poolrun: stdin: connection reset by peer" ]
}

# LeakSanitizer cannot run under ptrace: a sanitized poolrun under strace
# checks everything else.
no_lsan() {
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
}

@test "-a - on a pipe closes the descriptor it reads from once" {
    command -v strace >/dev/null || skip "no strace"
    no_lsan
    run -0 bash -c 'printf "a\nb\n" | strace -o trace -e trace=close "$POOLRUN" -k -a - echo'
    [ "$output" = $'a\nb' ]
    run -1 grep EBADF trace
}

@test "-a FIFO closes the descriptor it reads from once" {
    command -v strace >/dev/null || skip "no strace"
    no_lsan
    mkfifo fifo
    printf 'a\n' >fifo &
    run -0 strace -o trace -e trace=close "$POOLRUN" -a fifo echo
    [ "$output" = a ]
    run -1 grep EBADF trace
}

# --- job files and JSON Lines ------------------------------------------------

@test "a job file of 20,000 ids loads in well under the seconds it once took" {
    seq 20000 | awk 'BEGIN { print "{\"tasks\": [" }
        { printf "%s  {\"id\": \"t%d\", \"cmd\": \"true\"}\n", (NR > 1 ? "," : ""), $1 }
        END { print "]}" }' >ids.json
    # Linear look-ups take 0.5 s here (1.2 s sanitized); the quadratic ones
    # took 6.4.  The unit test of source_json times the loading alone.
    local limit=5
    [ -z "${PR_SANITIZED:-}" ] || limit=15
    run -0 timeout "$limit" "$POOLRUN" --dry-run -f ids.json
    [ "${#lines[@]}" -eq 20000 ]
}

@test "--json refuses an id used twice, naming both places, as -f does" {
    run -255 --separate-stderr poolrun -k --json <<<$'{"cmd":"echo a","id":"x"}\n\n {"cmd":"touch ran", "id":"x"}'
    [ "$stderr" = 'poolrun: <stdin>:3:27: task id "x" is used twice (first at <stdin>:1:22)' ]
    [ "$output" = a ]
    [ ! -e ran ]
}

@test "--json skips lines of white space, as JSON Lines readers do" {
    run -0 --separate-stderr poolrun -k --json <<<$'{"cmd":"echo a"}\n   \n\t\r\n{"cmd":"echo b"}'
    [ "$output" = $'a\nb' ]
    [ -z "$stderr" ]
}

@test "a job file's env may not set POOLRUN_SEQ, which poolrun sets" {
    echo '{"tasks":[{"argv":["env"],"env":{"POOLRUN_SEQ":"7"}}]}' >jobs.json
    run -255 --separate-stderr poolrun -f jobs.json
    [ "$stderr" = "poolrun: jobs.json:1:48: tasks[0].env.POOLRUN_SEQ: is set by poolrun for each task" ]
    [ -z "$output" ]
}

@test "a job file's defaults may not remove POOLRUN_SLOT either" {
    echo '{"defaults":{"env":{"POOLRUN_SLOT":null}},"tasks":[{"argv":["env"]}]}' >jobs.json
    run -255 --separate-stderr poolrun -f jobs.json
    [ "$stderr" = "poolrun: jobs.json:1:36: defaults.env.POOLRUN_SLOT: is set by poolrun for each task" ]
}

@test "a --json task may not set POOLRUN_SEQ" {
    run -255 --separate-stderr poolrun --json <<<'{"argv":["env"],"env":{"POOLRUN_SEQ":"7"}}'
    [ "$stderr" = "poolrun: <stdin>:1:38: env.POOLRUN_SEQ: is set by poolrun for each task" ]
}

@test "a task with its own env sees POOLRUN_SEQ and POOLRUN_SLOT once each" {
    echo '{"tasks":[{"argv":["env"],"env":{"A":"1"}}]}' >jobs.json
    run -0 poolrun -f jobs.json
    [ "$(grep -c '^POOLRUN_SEQ=' <<<"$output")" -eq 1 ]
    [ "$(grep -c '^POOLRUN_SLOT=' <<<"$output")" -eq 1 ]
    [ "$(grep -c '^A=1$' <<<"$output")" -eq 1 ]
}

# --- lines too long for memory -----------------------------------------------

# peak_kb: the VmHWM (kB) in the output of a task that printed poolrun's.
peak_kb() {
    awk '/^VmHWM:/ { print $2 }' <<<"$output"
}

@test "a 200 MB shell line runs from a temporary file, and poolrun's memory stays flat" {
    run -0 --separate-stderr bash -c '
        { printf "echo ran # "; head -c 200M /dev/zero | tr "\0" a
          printf "\ngrep VmHWM /proc/\$PPID/status\n"; } | "$POOLRUN" -j1 -k'
    [ "${lines[0]}" = ran ]
    # Holding the line took 3 times its size; now a few MB, whatever it is.
    [ "$(peak_kb)" -lt 65536 ]
    [ -z "$stderr" ]
}

@test "a long shell line reaches the shell whole" {
    { printf 'x='; head -c 5M /dev/zero | tr '\0' a; printf '; echo "${#x}"\n'; } >lines
    run -0 --separate-stderr poolrun <lines
    [ "$output" = 5242880 ]
    [ -z "$stderr" ]
}

@test "a 200 MB item in map mode fails its own task with a clear record, and memory stays flat" {
    run -1 --separate-stderr bash -c '
        { head -c 200M /dev/zero | tr "\0" a; printf "\nlast\n"; } |
            "$POOLRUN" -j1 -k --joblog log sh -c "grep VmHWM /proc/\$PPID/status; echo \"\$1\"" sh'
    [ "${lines[1]}" = last ]
    [ "$(peak_kb)" -lt 65536 ]
    [[ ${stderr_lines[0]} == "poolrun: task 1: its item is longer than 1 MiB: argument list too long: sh -c "* ]]
    [ "$(joblog_rows log | wc -l)" -eq 2 ]
    [ "$(joblog_rows log | wc -c)" -lt 4096 ]
}

@test "the joblog and the results of a long line show its head and its length, not all of it" {
    { printf 'echo ran # '; head -c 3M /dev/zero | tr '\0' a; echo; } >lines
    run -0 --separate-stderr poolrun --joblog log --results res.jsonl <lines
    [ "$output" = ran ]
    [ "$(joblog_rows log | wc -c)" -lt 2048 ]
    [[ $(joblog_rows log) == *$'\t'"echo ran # aaaa"*"a... [3145739 bytes]" ]]
    [ "$(wc -c <res.jsonl)" -lt 4096 ]
    [ "$(jq -r .status res.jsonl)" = ok ]
    [[ $(jq -r .command res.jsonl) == "echo ran # aaa"*"a... [3145739 bytes]" ]]
    [ "$(jq -r .item res.jsonl)" = "$(jq -r .command res.jsonl)" ]
}

@test "a long shell line with a NUL byte fails its own task, and the next line runs" {
    { head -c 3M /dev/zero; printf '\necho after\n'; } >lines
    run -1 --separate-stderr poolrun -k <lines
    [ "$output" = after ]
    [[ ${stderr_lines[0]} == "poolrun: task 1: the line contains a NUL byte: invalid argument: \\0\\0\\0"* ]]
}

# read_past PID BYTES: the process has read more than BYTES.
read_past() {
    [ "$(awk '/^rchar:/ { print $2 }' "/proc/$1/io")" -gt "$2" ]
}

@test "an endless line of NUL bytes keeps memory flat and writes nothing to disk" {
    mkdir tmp
    TMPDIR=$PWD/tmp "$POOLRUN" </dev/zero &
    bg_pid=$!
    # Until it has read 500 MB (which took 1 GB of memory).
    wait_for 30 read_past "$bg_pid" 500000000
    local hwm used
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$bg_pid/status")
    used=$(du -sk tmp | cut -f1)
    kill "$bg_pid"
    wait_status "$bg_pid" 143
    [ "$hwm" -lt 65536 ]
    [ "$used" -lt 1024 ]
}

@test "a long shell line that cannot be written to its temporary file (a full disk) fails its own task" {
    { head -c 2M /dev/zero | tr '\0' a; printf '\necho after\n'; } >lines
    # A file size limit fails the write as a full disk would (EFBIG).
    run -1 --separate-stderr bash -c 'trap "" XFSZ; ulimit -f 1536; exec "$POOLRUN" -k' <lines
    [ "$output" = after ]
    [[ ${stderr_lines[0]} == "poolrun: task 1: cannot write the long line to a file: file too large: aaaa"* ]]
}

@test "--json refuses a line longer than 1 MiB after running the lines before it" {
    { echo '{"cmd":"echo first"}'; printf '{"cmd":"echo '; head -c 2M /dev/zero | tr '\0' a; printf '"}\n{"cmd":"touch ran"}\n'; } >lines
    run -255 --separate-stderr poolrun --json <lines
    [ "$output" = first ]
    [ "$stderr" = "poolrun: <stdin>:2: the line is longer than 1 MiB, the most a task object may be" ]
    [ ! -e ran ]
}

@test "--workers fails the task of an item longer than 1 MiB and goes on" {
    { head -c 2M /dev/zero | tr '\0' a; printf '\nb\n'; } >lines
    run -1 --separate-stderr poolrun -j1 -k --workers 'while read -r l; do echo "got $l"; done' <lines
    [ "$output" = "got b" ]
    [[ ${stderr_lines[0]} == "poolrun: task 1: its item is longer than 1 MiB: argument list too long: aaaa"* ]]
}

@test "--dry-run prints a long shell line whole" {
    { printf 'echo '; head -c 2M /dev/zero | tr '\0' a; echo; } >lines
    run -0 --separate-stderr poolrun --dry-run <lines
    [ "${#output}" -eq $((2 * 1024 * 1024 + 5)) ]
    [ "$output" = "$(cat lines)" ]
}

@test "a long shell line is retried from its file" {
    { printf 'echo try >>tries; [ "$(wc -l <tries)" -eq 2 ] # '; head -c 2M /dev/zero | tr '\0' a; echo; } >lines
    run -0 --separate-stderr poolrun --retries 1 <lines
    [ "$(wc -l <tries)" -eq 2 ]
}
