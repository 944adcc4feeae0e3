#!/usr/bin/env bats
# A hostile review of issue 16 as merged: each test is a defect found, as a
# GNU parallel or xargs user (or an attacker) would meet it.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
}

@test "--joblog - with a closed stdout says so and exits 255, not a crash" {
    run -255 bash -c '"$POOLRUN" --joblog - true ::: a 2>err >&-'
    grep -q 'writing standard output: bad file descriptor' err
}

@test "an empty ::: runs nothing, as in GNU parallel, not COMMAND with no item" {
    run -0 poolrun --dry-run rm -rf {}/build :::
    [ -z "$output" ]
}

@test "an empty :::: file, an empty input among several and an empty --colsep input run nothing" {
    : >empty
    run -0 poolrun echo x :::: empty
    [ -z "$output" ]
    run -0 poolrun echo x {1} {2} ::: a :::
    [ -z "$output" ]
    run -0 poolrun --colsep , echo x {2} <empty
    [ -z "$output" ]
}

@test "an empty ::: runs what GNU parallel runs: nothing, and ::: '' runs once" {
    command -v parallel >/dev/null || skip "GNU parallel is not installed"
    run -0 parallel --will-cite echo x :::
    want=$output
    run -0 poolrun echo x :::
    [ "$output" = "$want" ]
    run -0 poolrun echo x ::: ''
    [ "$output" = x ]
}

@test "stdin or one -a file that is empty still runs COMMAND once, as xargs does" {
    : >empty
    run -0 poolrun -a empty echo x
    [ "$output" = x ]
    run -0 poolrun echo x <empty
    [ "$output" = x ]
}

@test "-t shows an item's carriage return and escape bytes as text, so the terminal shows what runs" {
    run -0 --separate-stderr poolrun -j 1 -t echo ::: $'safe\r rm -rf ~' $'a\e[2Jb'
    [ "$stderr" = "echo 'safe\\r rm -rf ~'
echo 'a\\x1b[2Jb'" ]
}

@test "--results DIR/ with several inputs puts each item under its input's number, as GNU parallel does" {
    run -0 poolrun --results res/ echo ::: a b ::: 1
    [ -f res/1/a/2/1/stdout ]
    [ -f res/1/b/2/1/seq ]
    [ ! -e res/1/a/1 ]
}

@test "--results DIR/ with --colsep numbers the columns, and with --header names them" {
    printf 'h1,h2\na,b\n' >cols
    run -0 poolrun --colsep , --results res/ echo :::: cols
    [ -f res/1/h1/2/h2/stdout ]
    run -0 poolrun --colsep , --header : --results named/ echo :::: cols
    [ "$(cat named/h1/a/h2/b/stdout)" = "a b" ]
}

@test "--header's names are escaped as items are in --results DIR/" {
    run -0 poolrun --header : --results res/ echo ::: ../up a
    [ -f 'res/..\_up/a/seq' ]
    [ ! -e up ]
}

@test "--results DIR/ with several inputs lays out what GNU parallel does" {
    command -v parallel >/dev/null || skip "GNU parallel is not installed"
    parallel --will-cite --results p/ echo ::: a b ::: 1 2 >/dev/null
    parallel --will-cite --header : --results ph/ echo ::: x a ::: y b >/dev/null
    run -0 poolrun --results r/ echo ::: a b ::: 1 2
    run -0 poolrun --header : --results rh/ echo ::: x a ::: y b
    [ "$(cd p && find . | sort)" = "$(cd r && find . | sort)" ]
    [ "$(cd ph && find . | sort)" = "$(cd rh && find . | sort)" ]
    [ "$(cat r/1/b/2/2/stdout)" = "$(cat p/1/b/2/2/stdout)" ]
}

@test "--bar on a terminal one column wide draws nothing that could wrap" {
    run -0 python3 "$PR_SRC/tests/bats/on_pty.py" 1 "$POOLRUN" --bar true ::: a b
    shown=$(printf '%s' "$output" | sed 's/\x1b\[K//g' | tr -d '\r\n')
    [ -z "$shown" ]
}

@test "--colsep and several inputs reading a terminal say so, as one input does" {
    run -0 python3 "$PR_SRC/tests/bats/tty_input.py" 'b,c\n\x04' "$POOLRUN" --colsep , echo {2}
    [ "$output" = "poolrun: reading items from the terminal (Ctrl-D ends them)
c" ]
    run -0 python3 "$PR_SRC/tests/bats/tty_input.py" 'b\n\x04' "$POOLRUN" echo ::: a :::: -
    [ "$output" = "poolrun: reading items from the terminal (Ctrl-D ends them)
a b" ]
}

@test "-j with a space before its sign is refused, not read as that many jobs" {
    run -255 poolrun -j ' +3' --dry-run echo ::: a
    [[ "$output" == *"' +3' is not a number of jobs"* ]]
    run -255 poolrun -j ' 50%' --dry-run echo ::: a
}

@test "-E with --colsep or several inputs leaves a seekable stdin just past the sentinel, as one input does" {
    printf 'a,1\nSTOP\nc,3\n' >items
    run -0 bash -c '("$POOLRUN" -E STOP --colsep , echo {2}; cat) <items'
    [ "$output" = "1
c,3" ]
    run -0 bash -c '("$POOLRUN" -k -E STOP echo ::: x :::: -; cat) <items'
    [ "$output" = "x a,1
c,3" ]
}
