#!/usr/bin/env bats
# GNU parallel's and xargs's habits (issue 16): -j +N / -N, -P, --dryrun,
# -t, --joblog - and +FILE, --timeout N% and 0, sizes, -E on a seekable
# stdin, a terminal as input, --results DIR/.  Differential tests run the
# same command line with parallel or xargs where they share the form.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
}

# have_parallel: GNU parallel is installed (else the test is skipped).
have_parallel() {
    command -v parallel >/dev/null || skip "GNU parallel is not installed"
}

# barrier_lines N: N shell lines that each wait until all N have started
# (at most 10 s), then print their slot; they can only all succeed if N run
# at once.
barrier_lines() {
    seq "$1" | sed "s/.*/touch s.\$POOLRUN_SEQ; i=0; while [ \$(ls s.* | wc -l) -lt $1 ] \&\& [ \$i -lt 1000 ]; do sleep 0.01; i=\$((i+1)); done; [ \$i -lt 1000 ]; echo \$POOLRUN_SLOT/"
}

@test "-j +1 runs one task more than there are CPUs at once" {
    n=$(($(nproc) + 1))
    barrier_lines "$n" >lines
    run -0 poolrun -j +1 <lines
    [ "$(sort -un <<<"$output" | tail -1)" -eq "$n" ]
}

@test "-j -1 runs one task fewer than there are CPUs, and at least one" {
    want=$(($(nproc) - 1))
    [ "$want" -ge 1 ] || want=1
    seq 20 | sed 's/.*/echo $POOLRUN_SLOT/' >lines
    run -0 poolrun -j -1 <lines
    [ "$(sort -un <<<"$output" | tail -1)" -le "$want" ]
    run -0 poolrun --jobs=-1000 <lines
    [ "$(sort -u <<<"$output")" = 1 ]
}

@test "-j with a sign that is not followed by a number is refused" {
    run -255 --separate-stderr poolrun -j +-1 echo ::: a
    [ "${stderr_lines[0]}" = "poolrun: -j: '+-1' is not a number of jobs (+N or -N: the CPUs plus or minus N)" ]
    run -255 --separate-stderr poolrun -j - echo ::: a
    [[ ${stderr_lines[0]} == "poolrun: -j: '-' is not a number of jobs"* ]]
}

@test "-P N is xargs's spelling of -j N" {
    barrier_lines 3 >lines
    run -0 poolrun -P 3 <lines
    [ "$(sort -un <<<"$output" | tail -1)" -eq 3 ]
    seq 5 | sed 's/.*/echo $POOLRUN_SLOT/' >lines
    run -0 poolrun -P1 <lines
    [ "$(sort -u <<<"$output")" = 1 ]
}

@test "--dryrun is a second spelling of --dry-run" {
    run -0 poolrun -k --dryrun echo ::: a 'b c'
    [ "$output" = "$(poolrun -k --dry-run echo ::: a 'b c')" ]
    [ "${lines[1]}" = "echo 'b c'" ]
}

@test "-t prints each command on stderr as it starts, one line per task" {
    run -0 --separate-stderr poolrun -j 1 -k -t echo ::: a 'b c' '$(touch pwned)'
    [ "${#stderr_lines[@]}" -eq 3 ]
    [ "${stderr_lines[0]}" = "echo a" ]
    [ "${stderr_lines[1]}" = "echo 'b c'" ]
    [ "${stderr_lines[2]}" = "echo '\$(touch pwned)'" ]
    [ ! -e pwned ]
    [ "${lines[2]}" = '$(touch pwned)' ]
}

@test "-t prints the shell line of a task that runs through the shell" {
    printf 'echo one | tr o 0\n' >lines
    run -0 --separate-stderr poolrun --verbose <lines
    [ "$stderr" = "echo one | tr o 0" ]
    [ "$output" = "0ne" ]
}

@test "-t shows a newline in an item as \\n, keeping one line per task" {
    printf 'a\nb\0-x\0' >items
    run -0 --separate-stderr poolrun -0 -j 1 -k -t echo <items
    [ "${#stderr_lines[@]}" -eq 2 ]
    [ "${stderr_lines[0]}" = "echo 'a\\nb'" ]
    [ "${stderr_lines[1]}" = "echo -x" ]
}

@test "without -t nothing is printed on stderr" {
    run -0 --separate-stderr poolrun -k echo ::: a b
    [ -z "$stderr" ]
}

@test "-t with serve is refused, not ignored" {
    run -255 --separate-stderr poolrun serve -t
    [ "$stderr" = "poolrun: serve: -t: not with serve (poolrun status shows what runs)" ]
}

@test "-t prints what xargs -t prints, on stderr and stdout" {
    printf 'a\nb\nc-d\n' >items
    xargs -t -n 1 echo <items >xargs.out 2>xargs.err
    poolrun -j 1 -k -t echo <items >poolrun.out 2>poolrun.err
    diff xargs.out poolrun.out
    diff xargs.err poolrun.err
}

@test "-t prints what parallel -t prints" {
    have_parallel
    parallel --will-cite -j 1 -k -t echo ::: a 'b c' d >parallel.out 2>parallel.err
    poolrun -j 1 -k -t echo ::: a 'b c' d >poolrun.out 2>poolrun.err
    diff parallel.out poolrun.out
    diff parallel.err poolrun.err
}

@test "--joblog - writes the header, then each row after its task's output, on stdout" {
    run -0 --separate-stderr poolrun -j 1 -k --joblog - echo ::: a 'b c'
    [ "${#lines[@]}" -eq 5 ]
    [ "${lines[0]}" = "$(printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand')" ]
    [ "${lines[1]}" = a ]
    [ "$(cut -f1,7- <<<"${lines[2]}")" = "$(printf '1\t0\t0\techo a')" ]
    [ "${lines[3]}" = 'b c' ]
    [ "$(cut -f1,7- <<<"${lines[4]}")" = "$(printf "2\t0\t0\techo 'b c'")" ]
    [ ! -e - ]
}

@test "--joblog - has no row for a skipped task and goes with -u" {
    run -3 --separate-stderr poolrun -j 1 --halt now,fail=1 --joblog - sh -c 'exit $0' ::: 3 0
    [ "${#lines[@]}" -eq 2 ]
    [ "$(cut -f1,7 <<<"${lines[1]}")" = "$(printf '1\t3')" ]
    run -2 --separate-stderr poolrun -u -j 1 --joblog - sh -c 'echo $0; exit $0' ::: 1 2
    [ "${#lines[@]}" -eq 5 ]
    [ "${lines[1]}" = 1 ]
    [ "$(cut -f1,7 <<<"${lines[4]}")" = "$(printf '2\t2')" ]
}

@test "--joblog - prints what parallel --joblog - prints, times aside" {
    have_parallel
    parallel --will-cite -j 1 -k --joblog - echo ::: a 'b c' '$(x)' | cut -f1,2,5- >parallel.out
    poolrun -j 1 -k --joblog - echo ::: a 'b c' '$(x)' | cut -f1,2,5- >poolrun.out
    diff parallel.out poolrun.out
}

@test "--resume with --joblog - is refused" {
    run -255 --separate-stderr poolrun --resume --joblog - echo ::: a
    [ "${stderr_lines[0]}" = "poolrun: --resume: --joblog - cannot be read back; name a file" ]
}

@test "--joblog +FILE appends rows, with one header at the top" {
    run -0 poolrun --joblog +run.log echo ::: a
    run -0 poolrun --joblog +run.log echo ::: b
    [ "$(wc -l <run.log)" -eq 3 ]
    [ "$(head -1 run.log | cut -f1)" = Seq ]
    [ "$(tail -n +2 run.log | cut -f9)" = "$(printf 'echo a\necho b')" ]
    [ ! -e +run.log ]
    run -0 poolrun --joblog run.log echo ::: c
    [ "$(wc -l <run.log)" -eq 2 ]
}

@test "--joblog +FILE appends to an existing log as parallel does" {
    have_parallel
    parallel --will-cite --joblog g.log echo ::: a >/dev/null
    parallel --will-cite --joblog +g.log echo ::: b >/dev/null
    poolrun --joblog p.log echo ::: a >/dev/null
    poolrun --joblog +p.log echo ::: b >/dev/null
    diff <(cut -f1,2,5- g.log) <(cut -f1,2,5- p.log)
}

@test "--joblog +FILE with --resume reads FILE" {
    run -0 poolrun --joblog +run.log echo ::: a b
    run -0 poolrun -k --resume --joblog +run.log echo ::: a b c
    [ "$output" = c ]
    [ "$(wc -l <run.log)" -eq 4 ]
}

@test "--joblog + without a file name is refused" {
    run -255 --separate-stderr poolrun --joblog + echo ::: a
    [ "${stderr_lines[0]}" = "poolrun: --joblog: needs a file name (+FILE appends, - is stdout)" ]
}

@test "--timeout 0 means no timeout" {
    run -0 poolrun --timeout 0 sh -c 'sleep 0.2; echo done' ::: a
    [ "$output" = done ]
}

@test "--timeout N% ends a running task past N% of the median runtime of the tasks that succeeded" {
    # The quick task succeeds first; the slow one, running then, is ended
    # at 1000% of its runtime (well before its 30 s).
    run -1 --separate-stderr poolrun -j 2 --joblog log --timeout 1000% sh -c 'sleep $0' ::: 0 30
    [[ ${stderr_lines[0]} == "poolrun: task 2, pid "*"timed out after"* ]]
    [ "$(joblog_rows log | sort -n | cut -f1,7,8 | tr '\t' :)" = "$(printf '1:0:0\n2:0:15')" ]
}

@test "--timeout N% applies to the tasks that start after one succeeded" {
    # Task 1 takes about 0.2 s, so the limit is 2 s or more: task 3 (no
    # sleep) is well within it even on a loaded machine, task 2 is not.
    run -1 --separate-stderr poolrun -j 1 -k --timeout 1000% sh -c 'sleep $0; echo $0' ::: 0.2 30 0
    [ "$(tr '\n' ' ' <<<"$output")" = "0.2 0 " ]
    [[ $stderr == *"task 2, pid "*"timed out"* ]]
}

@test "--timeout N% sets no limit until a task has succeeded" {
    # The first task fails and the second takes longer than 1% of anything
    # yet: nothing has succeeded, so neither is ended.
    printf 'exit 3\nsleep 0.3\n' >lines
    run -1 --separate-stderr poolrun -j 1 --timeout 1% <lines
    [[ $stderr == *"task 1, pid "*"exit status 3"* ]]
    [[ $stderr != *"timed out"* ]]
}

@test "--timeout with a bad percentage or a negative number is refused" {
    run -255 --separate-stderr poolrun --timeout 0% true ::: a
    [ "${stderr_lines[0]}" = "poolrun: --timeout: '0%' is not a percentage above 0 (of the median runtime)" ]
    run -255 --separate-stderr poolrun --timeout -1 true ::: a
    [ "${stderr_lines[0]}" = "poolrun: --timeout: '-1' is not a number of seconds (0 to 1000000000)" ]
}

@test "sizes take T and fractions everywhere a size is taken" {
    run -0 poolrun -k --buffer-size 1.5K --results-limit 0.5k --memfree 0.001G sh -c 'head -c 2000 /dev/zero | wc -c' ::: a
    [ "$output" = 2000 ]
    run -0 poolrun --buffer-size 1T true ::: a
    run -255 --separate-stderr poolrun --memfree 1.5T true ::: a
    [ "${stderr_lines[0]}" = "poolrun: --memfree: '1.5T' is not a size (1 to 1T; K, M, G, T and fractions allowed: 1.5G)" ]
}

@test "-E on a file as stdin leaves the offset just past the sentinel's line" {
    printf 'a\nSTOP\nb\nc\n' >in
    run -0 sh -c '"$POOLRUN" -k -E STOP echo; cat' <in
    [ "$output" = "$(printf 'a\nb\nc')" ]
}

@test "-E on a file leaves the offset where xargs -E leaves it" {
    printf 'a\nSTOP\nb\nc\n' >in
    (xargs -E STOP echo; cat) <in >xargs.out
    (poolrun -k -E STOP echo; cat) <in >poolrun.out
    diff xargs.out poolrun.out
}

@test "-E with -0 stops at the sentinel and leaves the offset past it" {
    printf 'a\0STOP\0b\0' >in
    run -0 sh -c '"$POOLRUN" -0 -E STOP echo; od -An -c' <in
    [ "${lines[0]}" = a ]
    [ "$(tr -d ' ' <<<"${lines[1]}")" = 'b\0' ]
}

@test "-E with -0 stops where parallel -E does" {
    have_parallel
    printf 'a\0b c\0STOP\0d\0' >in
    parallel --will-cite -k -0 -E STOP echo <in >parallel.out
    poolrun -k -0 -E STOP echo <in >poolrun.out
    diff parallel.out poolrun.out
}

@test "-E from a pipe stops at the sentinel" {
    run -0 sh -c 'printf "a\nSTOP\nb\n" | "$POOLRUN" -E STOP echo'
    [ "$output" = a ]
}

@test "a task that exits 255 or is killed by a signal does not stop the run" {
    run -2 --separate-stderr poolrun -j 1 -k sh -c 'case $0 in 255) exit 255;; kill) kill -9 $$;; *) echo $0;; esac' ::: 255 a kill b
    [ "$output" = "$(printf 'a\nb')" ]
}

# tty_poolrun DATA ARGS...: poolrun with a terminal as stdin, on which DATA
# is typed (\x04: Ctrl-D).
tty_poolrun() {
    local data=$1
    shift
    python3 "$PR_SRC/tests/bats/tty_input.py" "$data" "$POOLRUN" "$@"
}

@test "reading items from a terminal says so in one line on stderr" {
    run -0 --separate-stderr tty_poolrun 'a\nb c\n\x04' -k echo got
    [ "$output" = "$(printf 'got a\ngot b c')" ]
    [ "$stderr" = "poolrun: reading items from the terminal (Ctrl-D ends them)" ]
}

@test "reading commands from a terminal says so too" {
    run -0 --separate-stderr tty_poolrun 'echo hi\n\x04'
    [ "$output" = hi ]
    [ "$stderr" = "poolrun: reading commands from the terminal (Ctrl-D ends them)" ]
}

@test "map mode with no items from a terminal does not run the command" {
    run -0 --separate-stderr tty_poolrun '\x04' touch ran
    [ ! -e ran ]
    [ "${#stderr_lines[@]}" -eq 1 ]
}

@test "map mode with no items from a file still runs the command once, as xargs" {
    run -0 poolrun touch ran </dev/null
    [ -e ran ]
}

@test "items from a pipe or ::: say nothing about a terminal" {
    run -0 --separate-stderr sh -c 'echo a | "$POOLRUN" echo'
    [ -z "$stderr" ]
    run -0 --separate-stderr tty_poolrun '' echo ::: a
    [ -z "$stderr" ]
}

@test "--results DIR/ writes GNU parallel's layout: DIR/1/ITEM/stdout, stderr and seq" {
    run -0 poolrun -k --results out/ sh -c 'echo "out $0"; echo "err $0" >&2' ::: a 'b c'
    [ "$(cat out/1/a/stdout)" = "out a" ]
    [ "$(cat out/1/a/stderr)" = "err a" ]
    [ "$(cat out/1/a/seq)" = 1 ]
    [ "$(cat 'out/1/b c/seq')" = 2 ]
    [ "$(cat 'out/1/b c/stdout')" = "out b c" ]
}

@test "--results DIR/ writes the files parallel --results DIR/ writes" {
    have_parallel
    items=(a 'b c' 'x/y' 'back\slash' "tab$(printf '\t')s" "it's" '$(touch pwned)' -n)
    printf '#!/bin/sh\necho "$1"; echo "e $1" >&2\n' >t.sh
    chmod +x t.sh
    parallel --will-cite --results p/ ./t.sh ::: "${items[@]}" >/dev/null
    poolrun --results q/ ./t.sh ::: "${items[@]}" >/dev/null
    find p -type f | sed 's|^p/||' | sort >p.files
    find q -type f | sed 's|^q/||' | sort >q.files
    diff p.files q.files
    while IFS= read -r f; do
        cmp "p/$f" "q/$f"
    done <p.files
    [ ! -e pwned ]
    [ "$(wc -l <q.files)" -eq 24 ]
}

@test "--results DIR/ keeps every item of a task and no folder outside DIR" {
    run -0 poolrun -n 2 --results out/ echo ::: a b . ..
    [ "$(cat out/1/a/1/b/stdout)" = "a b" ]
    [ "$(cat 'out/1/\./1/\../stdout')" = ". .." ]
    [ ! -e out/stdout ]
    [ ! -e out/1/stdout ]
}

@test "--results DIR/ holds the last attempt's output, with -u too" {
    run -0 poolrun -u --retries 1 --results out/ sh -c 'if [ -e m ]; then echo second; else touch m; echo first; exit 1; fi' ::: x
    [ "$(cat out/1/x/stdout)" = second ]
    [ "$(cat out/1/x/seq)" = 1 ]
}

@test "--results with a folder that exists writes the layout; a file name keeps JSON Lines" {
    mkdir d
    run -0 poolrun --results d echo ::: a
    [ "$(cat d/1/a/stdout)" = a ]
    run -0 poolrun --results r.jsonl echo ::: a
    [ "$(jq -r .status r.jsonl)" = ok ]
}

@test "--results DIR/ names each shell line's folder by the line" {
    printf 'echo one\n' >lines
    run -0 poolrun --results out/ <lines
    [ "$(cat 'out/1/echo one/stdout')" = one ]
}

@test "--results DIR/ that cannot be made is one clear line naming it" {
    touch f
    run -255 --separate-stderr poolrun --results f/sub/ echo ::: a
    [ "$stderr" = "poolrun: --results f/sub/: cannot make this folder: not a directory" ]
}

@test "--results DIR/ with a job file is refused" {
    echo '{"tasks": [{"cmd": "echo a"}]}' >jobs.json
    run -255 --separate-stderr poolrun --results out/ -f jobs.json
    [[ ${stderr_lines[0]} == "poolrun: --results out/: a folder is named by the tasks' items"* ]]
}

@test "--dry-run prints in input order, however many run at a time" {
    run -0 poolrun --dry-run -j 4 echo ::: a b c ::: 1 2
    [ "$output" = "$(printf 'echo a 1\necho a 2\necho b 1\necho b 2\necho c 1\necho c 2')" ]
    run -0 poolrun --dry-run -j 3 echo < <(seq 5)
    [ "$output" = "$(printf 'echo %s\n' 1 2 3 4 5)" ]
}

@test "--dry-run waits for no --delay, --memfree or --load" {
    # No machine here has a terabyte free nor a load under 0.01 with
    # tests running, and three starts 1000 s apart: a wait would hang.
    run -0 timeout 20 "$POOLRUN" --dry-run --delay 1000 --memfree 1T --load 0.01 echo ::: a b c
    [ "$output" = "$(printf 'echo %s\n' a b c)" ]
}

@test "--dry-run of a job file with cwd and env prints lines that run the same when pasted into sh" {
    mkdir 'sub dir'
    cat >job.json <<'JSON'
{"tasks": [
  {"cmd": "pwd; echo \"$A|$B|${GONE-unset}\"", "cwd": "sub dir",
   "env": {"A": "it's $(touch pwned) `touch pwned2`", "B": "-n", "GONE": null}},
  {"argv": ["sh", "-c", "echo \"$A\" \"$1\"", "--", "a b"], "env": {"A": "x'y"}},
  {"cmd": "echo plain"}
]}
JSON
    GONE=present poolrun -k -f job.json >real
    GONE=present poolrun --dry-run -f job.json >dry
    [ "$(tail -n 1 dry)" = "echo plain" ]
    GONE=present sh <dry >pasted
    cmp real pasted
    [ "$(sed -n 2p real)" = "it's \$(touch pwned) \`touch pwned2\`|-n|unset" ]
    [ ! -e pwned ]
    [ ! -e 'sub dir/pwned' ]
}
