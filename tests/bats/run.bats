#!/usr/bin/env bats
# Running shell lines: the shell's results, exit statuses, hostile lines.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
}

@test "runs each line through /bin/sh and exits 0 when all succeed" {
    run -0 --separate-stderr poolrun -j 2 <<<$'echo one | tr a-z A-Z\nx=2; echo "two $x"'
    [ "$(sort <<<"$output")" = $'ONE\ntwo 2' ]
    [ -z "$stderr" ]
}

@test "the issue's example: two at a time, a joblog, exit 1 naming the failed task" {
    run -1 --separate-stderr poolrun -j 2 --joblog run.log \
        <<<$'sleep 0.2; echo a\nsleep 0.2; echo b\nexit 3'
    [ "$(sort <<<"$output")" = $'a\nb' ]
    [[ $stderr == *"task 3, pid "*"exit status 3"*"exit 3"* ]]
    [ "$(joblog_rows run.log | wc -l)" -eq 3 ]
}

@test "exit status counts the failed tasks" {
    run -3 poolrun -j 4 <<<$'exit 1\ntrue\nexit 2\nfalse\ntrue'
}

@test "exit status is 101 when more than 100 tasks fail" {
    run -101 --separate-stderr bash -c 'seq 101 | sed "s/.*/exit 7/" | "$POOLRUN" -j 4'
    [ "$(grep -c 'exit status 7' <<<"$stderr")" -eq 101 ]
}

@test "exit status is 100 when exactly 100 tasks fail" {
    run -100 bash -c 'seq 100 | sed "s/.*/exit 7/" | "$POOLRUN" -j 4 2>/dev/null'
}

@test "a command that is not found fails with 127 and one that is not executable with 126" {
    printf 'echo hi\n' >notexec.sh
    chmod 644 notexec.sh
    run -2 --separate-stderr poolrun --joblog log <<<$'no-such-command-xyz\n./notexec.sh'
    [[ $stderr == *"exit status 127: no-such-command-xyz"* ]]
    [[ $stderr == *"exit status 126: ./notexec.sh"* ]]
    [ "$(joblog_rows log | cut -f7 | sort | tr '\n' ' ')" = "126 127 " ]
}

@test "empty lines are skipped and empty input runs nothing" {
    run -0 poolrun <<<$'\n\necho only\n\n'
    [ "$output" = only ]
    run -0 poolrun </dev/null
    [ -z "$output" ]
    run -0 bash -c '"$POOLRUN" <&-'
    [ -z "$output" ]
}

@test "a last line without a newline still runs" {
    run -0 bash -c 'printf "echo a\necho b" | "$POOLRUN" -k'
    [ "$output" = $'a\nb' ]
}

@test "a line with a NUL byte is that task's error, the others run" {
    run -1 --separate-stderr bash -c 'printf "echo a\0b\necho fine\n" | "$POOLRUN"'
    [ "$output" = fine ]
    [[ $stderr == *"task 1: the line contains a NUL byte"* ]]
}

@test "a 10 MB line runs whole through the shell" {
    # One 10 MB shell line: a variable assignment that the task measures.
    cat >tail.txt <<'TAIL'
; echo ${#v}; [ -e /proc/$$/fd/3 ] && echo fd3-open || echo fd3-closed; sh -c 'ls /proc/$$/fd; true' | tr '\n' ' '; echo
TAIL
    { printf 'v='; head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' x; cat tail.txt; } >big.txt
    run -0 --separate-stderr poolrun <big.txt
    [ "${lines[0]}" = $((10 * 1024 * 1024)) ]
    # The script reached the shell on fd 3, which it closed first, and a
    # child sees only 0, 1 and 2.
    [ "${lines[1]}" = fd3-closed ]
    [ "${lines[2]}" = "0 1 2 " ]
}

@test "hostile lines are run by the shell exactly as written" {
    mkdir -p 'dir with space'
    cat >lines <<'LINES'
touch 'dir with space/a file'; echo "quoted 'single' \"double\""
echo '$(touch pwned)' '`touch pwned2`'
echo -n -- '-leading dash'; echo
LINES
    run -0 poolrun -k <lines
    [ -f 'dir with space/a file' ]
    [ ! -e pwned ]
    [ ! -e pwned2 ]
    [ "${lines[0]}" = "quoted 'single' \"double\"" ]
    [ "${lines[1]}" = '$(touch pwned) `touch pwned2`' ]
    [ "${lines[2]}" = '-- -leading dash' ]
}

@test "tasks see POOLRUN_SEQ and a POOLRUN_SLOT from 1 to N" {
    seq 20 | sed 's/.*/echo $POOLRUN_SEQ $POOLRUN_SLOT/' >lines
    run -0 env POOLRUN_SEQ=stale "$POOLRUN" -j 3 -k <lines
    [ "${#lines[@]}" -eq 20 ]
    for i in $(seq 20); do
        read -r seq slot <<<"${lines[i - 1]}"
        [ "$seq" -eq "$i" ]
        [ "$slot" -ge 1 ]
        [ "$slot" -le 3 ]
    done
}

@test "tasks start with stdin at EOF, SIGPIPE at default and only fds 0-2" {
    # Even descriptors that poolrun inherited stay out of its tasks.
    exec 7</dev/null 250>/dev/null
    # (ls runs as a child of the task's shell, outside any pipeline, so the
    # listing is the shell's own descriptors.)
    run -0 --separate-stderr poolrun -k <<'LINES'
cat; echo "stdin done"
yes | head -n 1
ls /proc/$$/fd; true
LINES
    [ "${lines[0]}" = "stdin done" ]
    [ "${lines[1]}" = y ]
    [ "${lines[*]:2}" = "0 1 2" ]
    [ -z "$stderr" ]
}

@test "tasks start with no signal ignored or blocked, even those poolrun inherited so" {
    # A shell's trap '' makes the signal ignored for poolrun; its tasks
    # must not inherit that, directly run or through the shell (which
    # passes what it inherited on through exec; its own mask while it
    # waits for a child is its business).
    run -0 --separate-stderr bash -c "trap '' USR1 TERM INT; exec \"\$POOLRUN\" -k" <<'LINES'
grep -E '^Sig(Ign|Blk)' /proc/self/status
exec grep -E "^Sig(Ign|Blk)" /proc/self/status
LINES
    [ "${#lines[@]}" -eq 4 ]
    for line in "${lines[@]}"; do
        [[ $line =~ ^Sig(Ign|Blk):[[:space:]]+0+$ ]]
    done
}

@test "each task runs in its own process group" {
    run -0 poolrun -j 2 -k <<<$'ps -o pgid= -p $$\nps -o pgid= -p $$'
    [ "${#lines[@]}" -eq 2 ]
    [ "${lines[0]}" != "${lines[1]}" ]
    [ "${lines[0]}" != "$(ps -o pgid= -p $$)" ]
}

@test "the joblog has GNU parallel's header and one tab-separated row per task" {
    run -2 poolrun -j 2 --joblog log <<<$'echo hello\nexit 4\nkill -9 $$'
    [ "$(head -1 log)" = "$(printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand')" ]
    [ "$(joblog_rows log | wc -l)" -eq 3 ]
    [ "$(joblog_rows log | awk -F'\t' 'NF != 9' | wc -l)" -eq 0 ]
    row1=$(awk -F'\t' '$1 == 1' log)
    IFS=$'\t' read -r seq host start runtime send recv exitval sig cmd <<<"$row1"
    [ "$host" = : ]
    [ "$send" = 0 ]
    [ "$recv" = 6 ]
    [ "$exitval" = 0 ]
    [ "$sig" = 0 ]
    [ "$cmd" = "echo hello" ]
    [[ $start =~ ^[0-9]{10}\.[0-9]{3}$ ]]
    [[ $runtime =~ ^\ *[0-9]+\.[0-9]{3}$ ]]
    [ "$(awk -F'\t' '$1 == 2 {print $7, $8}' log)" = "4 0" ]
    [ "$(awk -F'\t' '$1 == 3 {print $7, $8}' log)" = "0 9" ]
}

@test "a task's exit is seen however it ends: with its pipes, after closing them, or later" {
    # poolrun learns of most exits when both pipes reach EOF, and of the
    # rest through a pidfd opened later; the results must not differ.
    run -4 poolrun -j 4 --joblog log <<'LINES'
exit 5
exec >&- 2>&-; sleep 0.1; exit 6
exec >/dev/null 2>&1; sleep 0.3; kill -9 $$
sleep 0.05; exit 8
LINES
    [ "$(joblog_rows log | sort -n | cut -f7,8 | tr '\t\n' ', ')" = "5,0 6,0 0,9 8,0 " ]
}

@test "600 short tasks, four at a time: each ends once, with its own status" {
    # Tasks end while others start: the exit of one must never be taken
    # for another's (the sanitized run checks the memory behind it too).
    seq 600 | awk '{print ($1 % 3 ? "true" : "false")}' >lines
    run -101 poolrun -j 4 --joblog log <lines
    [ "$(joblog_rows log | cut -f1 | sort -n | uniq | wc -l)" -eq 600 ]
    [ "$(joblog_rows log | wc -l)" -eq 600 ]
    [ "$(joblog_rows log | awk -F'\t' '$7 != ($1 % 3 ? 0 : 1)' | wc -l)" -eq 0 ]
}

@test "a command is looked up in PATH once, and again when the file found is gone" {
    mkdir a b
    printf '#!/bin/sh\necho A\n' >a/tool
    printf '#!/bin/sh\necho B\n' >b/tool
    chmod +x a/tool b/tool
    printf '%s\n' tool "rm $PWD/a/tool" tool >lines
    PATH=$PWD/a:$PWD/b:$PATH run -0 poolrun -j 1 <lines
    [ "$output" = $'A\nB' ]
}

@test "a relative PATH entry is looked up in each task's own cwd" {
    for d in . sub1 sub2; do
        mkdir -p "$d/bin"
        printf '#!/bin/sh\necho %s\n' "$d" >"$d/bin/tool"
        chmod +x "$d/bin/tool"
    done
    cat >jobs.json <<'EOF'
{"tasks": [{"cmd": "tool", "cwd": "sub1"}, {"cmd": "tool", "cwd": "sub2"}, {"cmd": "tool"}]}
EOF
    PATH=bin:$PATH run -0 poolrun -k -f jobs.json
    [ "$output" = $'sub1\nsub2\n.' ]
}

@test "a task killed by a signal is reported and counted as failed" {
    run -1 --separate-stderr poolrun <<<'kill -USR1 $$'
    [[ $stderr == *"killed by signal 10 (SIGUSR1)"* ]]
}

@test "a joblog that cannot be written is an error before anything runs" {
    run -255 --separate-stderr poolrun --joblog /nonexistent/dir/log <<<'touch ran'
    [[ $stderr == *"--joblog /nonexistent/dir/log"* ]]
    [ ! -e ran ]
}

@test "a closing summary counts the tasks by status when any did not succeed" {
    run -2 --separate-stderr poolrun -j 2 <<<$'true\nexit 1\ntrue\nkill -9 $$'
    grep -qx "poolrun: 4 tasks: 2 ok, 1 failed, 1 killed" <<<"$stderr"
    # Then the slowest three.
    [[ ${stderr_lines[-3]} == "poolrun: slowest: task "* ]]
}

@test "--summary prints the counts even when every task succeeded" {
    run -0 --separate-stderr poolrun <<<$'true\ntrue'
    [ -z "$stderr" ]
    run -0 --separate-stderr poolrun --summary <<<$'true\ntrue'
    [ "${stderr_lines[0]}" = "poolrun: 2 tasks: 2 ok" ]
    [ "${#stderr_lines[@]}" -eq 3 ]
}

@test "simple lines start without the shell and give the same results" {
    # Direct: true, false, a missing command, ls; through the shell: exit,
    # cd, a builtin echo, an assignment.
    run -4 --separate-stderr poolrun -k --joblog log <<'LINES'
true
false
no-such-command-xyz
ls /no/such/dir
exit 3
cd /tmp && pwd
echo -n a; echo b
A=1 sh -c 'echo $A'
LINES
    [ "$output" = $'/tmp\nab\n1' ]
    [ "$(joblog_rows log | sort -n | cut -f7 | tr '\n' ' ')" = "0 1 127 2 3 0 0 0 " ]
    [[ $stderr == *"no-such-command-xyz: command not found"* ]]
}
