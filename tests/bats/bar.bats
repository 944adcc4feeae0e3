#!/usr/bin/env bats
# --bar, --eta and the counts of --progress: a bar on a terminal that fits
# its width, and counts that stay true after Ctrl-C and with --resume.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
}

# on_pty COLUMNS COMMAND...: COMMAND's stdout and stderr on a new terminal
# that many columns wide; what it wrote there is our output.
on_pty() {
    python3 "$PR_SRC/tests/bats/on_pty.py" "$@"
}

# draws FILE: each redraw of the line (what follows a carriage return and
# an erase-line), one a line, newlines dropped.
draws() {
    sed 's/\r\x1b\[K/\n/g' "$1" | tr -d '\r' | grep -v '^$'
}

# widest FILE: the longest redraw, in columns.
widest() {
    draws "$1" | awk '{ if (length($0) > n) n = length($0) } END { print n + 0 }'
}

@test "--bar on a terminal shows percent, a bar, done/total, the rate and the ETA" {
    seq 4 >items
    on_pty 100 "$POOLRUN" -j 1 -a items --bar true >out
    [[ $(draws out | tail -1) =~ ^'poolrun: 100% ['=+'] 4/4 done, '[0-9.]+'/s, ETA 0:00'$ ]]
    # One line, redrawn in place: it ends with one newline.
    [ "$(tr -cd '\n' <out | wc -c)" -eq 1 ]
}

@test "--bar grows and shrinks with the terminal, and never wraps" {
    seq 20 >items
    on_pty 100 "$POOLRUN" -j 2 -a items --bar true >wide
    [ "$(widest wide)" -eq 99 ]
    on_pty 30 "$POOLRUN" -j 2 -a items --bar true >narrow
    [ "$(widest narrow)" -le 29 ]
    # Too narrow for a bar: whole fields of the counts.
    [[ $(draws narrow | tail -1) == 'poolrun: 100% 20/20 done' ]]
}

@test "each redraw clears the old line to its end first" {
    seq 3 >items
    on_pty 60 "$POOLRUN" -j 1 -a items --bar true >out
    # Every carriage return is followed by an erase-line.
    [ "$(grep -o $'\r' out | wc -l)" -eq "$(grep -o $'\r\x1b\\[K' out | wc -l)" ]
    [ "$(grep -o $'\r' out | wc -l)" -ge 1 ]
}

@test "--progress on a narrow terminal is cut to fit, field by field" {
    seq 3 >items
    on_pty 40 "$POOLRUN" -j 1 -a items --progress true >out
    [ "$(widest out)" -le 39 ]
    [ "$(draws out | tail -1)" = 'poolrun: 3/3 done, 0 running, 0 failed' ]
}

@test "a terminal that does not say its width is taken as COLUMNS wide" {
    seq 20 >items
    COLUMNS=70 on_pty 0 "$POOLRUN" -j 1 -a items --bar true >out
    # The bar takes the room the counts leave.
    [ "$(widest out)" -eq 69 ]
}

@test "--bar off a terminal prints the --progress line per finished task" {
    run -0 --separate-stderr poolrun -j 1 --bar echo ::: a b
    [ "$output" = $'a\nb' ]
    [ "$(grep -c '^poolrun: [0-9]/2 done, ' <<<"$stderr")" -eq 2 ]
    [[ $(grep done <<<"$stderr" | tail -1) == "poolrun: 2/2 done, 0 running, 0 failed, "*"/s, ETA 0:00" ]]
}

@test "--eta shows progress, with ETA ? until the input has ended" {
    mkfifo in
    "$POOLRUN" -j 1 --eta <in >out 2>err &
    pid=$!
    exec 5>in
    echo true >&5
    wait_for 10 grep -q 'done' err
    [[ $(head -1 err) == 'poolrun: 1 done, 0 running, 0 failed, '*'/s, ETA ?' ]]
    echo true >&5
    exec 5>&-
    wait_status "$pid" 0
    [[ $(grep done err | tail -1) == 'poolrun: 2/2 done, 0 running, 0 failed, '*'/s, ETA 0:00' ]]
}

@test "after Ctrl-C the counts say what ran and what was skipped" {
    printf '%s\n' true true 'touch started; exec sleep 30' true true true true true >lines
    "$POOLRUN" -j 1 --progress <lines >out 2>err &
    pid=$!
    wait_for 10 all_exist started
    kill -INT "$pid"
    wait_status "$pid" 130
    [[ $(grep ' done, ' err | tail -1) == 'poolrun: 3/8 done, 5 skipped, 0 running, 1 failed, '* ]]
}

@test "--resume counts the tasks it skips apart, and not in the rate" {
    seq 5 >items
    run -0 poolrun -j 1 --joblog log -a items true
    seq 6 >items
    run -0 --separate-stderr poolrun -j 1 --joblog log --resume --progress -a items true
    [ "$(grep -c ' done, ' <<<"$stderr")" -eq 1 ]
    [[ $stderr == 'poolrun: 1/6 done, 5 skipped, 0 running, 0 failed, '*'/s, ETA 0:00' ]]
}

@test "--bar and --eta leave standard output as GNU parallel's (differential)" {
    command -v parallel >/dev/null || skip "GNU parallel is not installed"
    for opt in --bar --eta; do
        want=$(parallel --will-cite "$opt" -k -j 2 echo ::: a 'b c' "\$(touch pwned)" -x 2>/dev/null)
        got=$(poolrun "$opt" -k -j 2 echo ::: a 'b c' "\$(touch pwned)" -x 2>/dev/null)
        [ "$got" = "$want" ]
    done
    [ ! -e pwned ]
}
