#!/usr/bin/env bats
# Options: values, errors before anything runs, --help, --version, the man
# page.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
}

# bad_option EXPECTED-TEXT ARGS...: exits 255, names the option in one line
# on stderr, and runs nothing.
bad_option() {
    local want=$1
    shift
    run -255 --separate-stderr "$POOLRUN" "$@" <<<'touch ran'
    [[ ${stderr_lines[0]} == "poolrun: $want"* ]] || {
        echo "stderr: $stderr" >&2
        return 1
    }
    [ ! -e ran ]
    [ -z "$output" ]
}

@test "-j with a word is an error naming -j" {
    bad_option "-j: 'abc' is not a number of jobs" -j abc
}

@test "-j with a sign and no number is an error" {
    # -j -1 and -j +1 are GNU parallel's CPUs minus or plus one (habits.bats).
    bad_option "-j: '-x' is not a number of jobs" -j -x
    bad_option "--jobs: '+-1' is not a number of jobs" --jobs=+-1
}

@test "an unknown option is an error naming it" {
    bad_option "--bogus: unknown option" --bogus
    bad_option "-Z: unknown option" -Z
}

@test "an option without its value is an error" {
    bad_option "-j: needs a value" -j
    bad_option "--joblog: needs a value" --joblog
}

@test "bad values of the other options are errors" {
    bad_option "--queue-size: '0' is not a queue size" --queue-size 0
    bad_option "--buffer-size: '12X' is not a size" --buffer-size 12X
    bad_option "--kill-after: '-1' is not a number of seconds" --kill-after -1
    bad_option "--keep-order: takes no value" --keep-order=yes
    bad_option "--line-buffer and --ungroup cannot be combined" --line-buffer -u
    bad_option "-j: '0%' is not a percentage" -j 0%
}

@test "-j 0 runs every task at once" {
    # Five tasks that each wait for all five to have started.
    seq 5 | sed 's/.*/touch s.$POOLRUN_SEQ; i=0; while [ $(ls s.* | wc -l) -lt 5 ] \&\& [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done; [ $i -lt 1000 ]/' >lines
    run -0 poolrun -j 0 <lines
}

@test "-j N runs at most N at a time, in slots 1 to N" {
    seq 30 | sed 's/.*/echo $POOLRUN_SLOT/' >lines
    run -0 poolrun -j 3 <lines
    [ "${#lines[@]}" -eq 30 ]
    [ "$(sort -un <<<"$output" | head -1)" -ge 1 ]
    [ "$(sort -un <<<"$output" | tail -1)" -le 3 ]
}

@test "-j N% is a share of the CPUs, at least one" {
    half=$(($(nproc) / 2))
    [ "$half" -ge 1 ] || half=1
    seq 20 | sed 's/.*/echo $POOLRUN_SLOT/' >lines
    run -0 poolrun -j 50% <lines
    [ "$(sort -un <<<"$output" | tail -1)" -le "$half" ]
    run -0 poolrun -j 1% <lines
    [ "$(sort -u <<<"$output")" = 1 ]
}

@test "the default is one slot per CPU" {
    n=$(nproc)
    # n tasks that wait for each other can only finish if all run at once.
    seq "$n" | sed "s/.*/touch s.\$POOLRUN_SEQ; i=0; while [ \$(ls s.* | wc -l) -lt $n ] \&\& [ \$i -lt 1000 ]; do sleep 0.01; i=\$((i+1)); done; [ \$i -lt 1000 ]; echo \$POOLRUN_SLOT/" >lines
    run -0 poolrun <lines
    [ "$(sort -un <<<"$output" | tail -1)" -eq "$n" ]
}

@test "options end at -- and at the first word that is not an option" {
    run -0 poolrun -k -- echo -j 2 ::: x
    [ "$output" = "-j 2 x" ]
    run -0 poolrun -k echo -k -j 3 ::: y
    [ "$output" = "-k -j 3 y" ]
}

@test "--help lists every option and exits 0" {
    run -0 poolrun --help
    for opt in --jobs --queue-size --kill-after --keep-order --line-buffer \
        --ungroup --buffer-size --joblog --help --version --arg-file --null \
        --delimiter --max-args --no-run-if-empty --sentinel --replace --tag \
        --dry-run --shell --order --summary; do
        [[ $output == *"$opt"* ]] || { echo "missing $opt" >&2; return 1; }
    done
}

@test "--version prints the version" {
    run -0 poolrun --version
    [[ ${lines[0]} =~ ^poolrun\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
    [[ ${lines[1]} == "Redis queues (poolrun worker): "* ]]
}

@test "--help to a full disk is an error" {
    run -255 --separate-stderr bash -c '"$POOLRUN" --help >/dev/full'
    [[ $stderr == *"writing standard output"* ]]
}

@test "the man page documents every option of --help and every exit status" {
    man="$PR_SRC/man/poolrun.1"
    for opt in $("$POOLRUN" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        grep -q -- "${opt//-/\\\\-}" "$man" || { echo "man page lacks $opt" >&2; return 1; }
    done
    for st in 101 141 255 '128+N'; do
        grep -q -- "$st" "$man" || { echo "man page lacks status $st" >&2; return 1; }
    done
}

@test "the man page is clean under mandoc -Tlint" {
    command -v mandoc >/dev/null || skip "mandoc is not installed"
    run -0 mandoc -Tlint -W warning "$PR_SRC/man/poolrun.1"
    [ -z "$output" ]
}

@test "the man page's job file example is a valid job file" {
    awk '/^\.SH JOB FILES/ {on = 1} on && /^\.nf/ {p = 1; next} p && /^\.fi/ {exit} p' \
        "$PR_SRC/man/poolrun.1" | sed 's/\\-/-/g; s/\\e/\\/g' >example.json
    mkdir build
    run -0 poolrun --dry-run -k -f example.json
    want=$(printf '%s\n' "env LC_ALL=C /bin/sh -c 'make lint'" \
        '(cd ./build && env LC_ALL=C make test)')
    [ "$output" = "$want" ]
}

@test "the man page's examples run as documented" {
    man_examples >examples
    PATH="$(dirname "$POOLRUN"):$PATH"
    # Example 1: a and b, a job log of three rows, one failure.
    run -1 --separate-stderr bash -c "$(sed -n '1,2p' examples)"
    [ "$(sort <<<"$output")" = $'a\nb' ]
    [ "$(joblog_rows run.log | wc -l)" -eq 3 ]
    # Example 2: three counts in the files' order.
    run -0 bash -c "$(sed -n '3,4p' examples)"
    [ "$output" = "$(wc -l </etc/passwd; wc -l </etc/group; wc -l </etc/hostname)" ]
    # Example 3: names with spaces, quotes and newlines are all compressed.
    touch 'plain.log' 'with space.log' "it's.log" $'new\nline.log'
    run -0 bash -c "$(sed -n '5p' examples)"
    # Named by a glob, not counted by ls's lines: one name holds a
    # newline.  run.log, example 1's job log, is a .log file too.
    [ "$(printf '%s|' ./*.log.gz)" = $'./it\'s.log.gz|./new\nline.log.gz|./plain.log.gz|./run.log.gz|./with space.log.gz|' ]
    [ -z "$(ls ./*.log 2>/dev/null)" ]
    # Example 4: a.bak and b.bak.
    echo A >a.txt
    echo B >b.txt
    run -0 bash -c "$(sed -n '6p' examples)"
    [ "$(cat a.bak b.bak)" = $'A\nB' ]
    # Example 5: the exit-status policies.
    run -0 bash -c "$(sed -n '7,11p' examples)"
    [ "$output" = $'3\n5\n9\n4' ]
}
