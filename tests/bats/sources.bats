#!/usr/bin/env bats
# Several input sources (::: and :::: repeated, -a repeated, :::+, --link),
# positional replacement strings, --colsep, --header, --tagstring, {#}
# alone and -n 0: each GNU parallel form next to parallel itself.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
    printf 'x\ny\nz\n' >f1
    printf '1\n2\n' >f2
    printf 'p\nq\nr\n' >f3
}

# Runs one command line (poolrun's options and COMMAND and inputs, all
# GNU parallel's too) through parallel -k and poolrun -k, with stdin from
# $STDIN (default: nothing), and fails showing both when they differ.
same_as_parallel() {
    command -v parallel >/dev/null || skip "GNU parallel is not installed"
    local want got
    want=$(parallel --will-cite -k "$@" <"${STDIN:-/dev/null}" 2>&1) || true
    got=$("$POOLRUN" -k "$@" <"${STDIN:-/dev/null}" 2>&1) || true
    [ -n "$want" ] || { echo "parallel printed nothing" >&2; return 1; }
    [ "$got" = "$want" ] || {
        printf 'parallel:\n%s\npoolrun:\n%s\n' "$want" "$got" >&2
        return 1
    }
}

@test "two ::: inputs give every combination, the last varying fastest" {
    same_as_parallel echo ::: a b c ::: 1 2
}

@test "three inputs combine in GNU parallel's order" {
    same_as_parallel echo ::: a b ::: 1 2 ::: X Y
}

@test ":::: FILE gives one input per file" {
    same_as_parallel echo :::: f1 f2
}

@test "-a FILE given twice gives two inputs" {
    same_as_parallel -a f1 -a f2 echo
}

@test "-a inputs come before the ::: inputs" {
    same_as_parallel -a f1 echo ::: A B
}

@test ":::: - reads stdin as one of the inputs" {
    STDIN=f2 same_as_parallel echo :::: - ::: A B
}

@test "--link pairs the inputs and starts the shorter ones over" {
    same_as_parallel --link echo ::: a b c d e ::: 1 2 ::: X Y Z
}

@test ":::+ pairs an input with the one before, up to the shorter" {
    same_as_parallel echo ::: a b c ::: 1 2 :::+ p q r s
}

@test "::::+ pairs each of its files with the input before" {
    same_as_parallel echo ::: a b ::::+ f1 f3
}

@test "--tag with several inputs tags with their values" {
    same_as_parallel --tag echo ::: a b ::: 1
}

@test "-E ends each of several inputs at the sentinel" {
    printf 'a\nSTOP\nb\n' >e1
    same_as_parallel -E STOP echo :::: e1 ::: 1 2 ::: x STOP y
}

@test "-0 splits several :::: inputs at NUL bytes" {
    printf 'a b\0c\0' >n1
    printf '1\n2\0' >n2
    same_as_parallel -0 echo :::: n1 :::: n2
}

@test "an empty input among several gives no task" {
    run -0 --separate-stderr poolrun -k echo ::: a b :::: /dev/null
    [ "$output" = "" ]
}

@test "positional strings and their path forms take one input's value" {
    same_as_parallel echo {1.} {1/} {1//} {1/.} {2} {-1} {-2} ::: /a/b.c/d.e.f x.y ::: q
}

@test "a position past the last input is an empty argument" {
    same_as_parallel printf '[%s]' {3} {1} ::: a ::: b
}

@test "positional strings take the items of one task with -n" {
    same_as_parallel -n 2 echo {2} {1} {-1} ::: a b c d
}

@test "{} with several inputs passes each value as its own argument" {
    same_as_parallel printf '[%s]' {} ::: a ::: 'b c'
}

@test "with no replacement string the values are appended as arguments" {
    same_as_parallel printf '[%s]' ::: a ::: 'b c'
}

@test "a command whose only replacement string is {#} gets no item" {
    STDIN=f1 same_as_parallel echo {#}
}

@test "a shell command whose only replacement string is {#} gets no item" {
    STDIN=f1 same_as_parallel 'echo {#}'
}

@test "a command whose only replacement string is {%} gets no item" {
    STDIN=f1 same_as_parallel -j 1 echo {%}
}

@test "-n 0 runs the command once per item with no argument" {
    STDIN=f1 same_as_parallel -n 0 printf '[%s]' x{}y
}

@test "-n 0 with several inputs runs once per combination" {
    same_as_parallel -n0 echo hi ::: a b ::: 1 2
}

@test "-n 0 without a COMMAND is refused" {
    run -255 --separate-stderr poolrun -n 0 <f1
    [[ $stderr == "poolrun: -n 0: runs COMMAND with no argument"* ]]
}

@test "--colsep splits each item into positional values" {
    printf 'a,b,c\nd,e,f\n' >c1
    same_as_parallel --colsep , echo {2}-{-1}-{1} :::: c1
}

@test "--colsep numbers the columns on across inputs" {
    printf 'a,b,c\nd,e,f\n' >c1
    same_as_parallel --colsep , echo {3} {4} :::: c1 :::: f2
}

@test "--colsep is a regular expression" {
    same_as_parallel --colsep ',+' printf '[%s]' {2} {1} ::: 'a,,,b c'
}

@test "--colsep \\t splits at tabs, not at the letter t" {
    printf 'ant\tbat\n' >tabs
    same_as_parallel --colsep '\t' echo {2} {1} :::: tabs
}

@test "--colsep reads stdin as one input" {
    printf 'a b c\n' >spaces
    STDIN=spaces same_as_parallel --colsep ' ' printf '[%s]'
}

@test "--colsep with an invalid expression is refused before anything runs" {
    run -255 --separate-stderr poolrun --colsep '(' touch ran ::: a
    [[ $stderr == "poolrun: --colsep '(': "* ]]
    [ ! -e ran ]
}

@test "--header : names each input by its first item" {
    same_as_parallel --header : echo {a}-{b} {b/} ::: a 1 2 ::: b x/y z
}

@test "--header : with --colsep names the columns of the first line" {
    printf 'n1,n2\nv1,v2\nw1,w2\n' >h1
    same_as_parallel --colsep , --header : echo {n2}-{n1} :::: h1
}

@test "--header with anything but : is refused" {
    run -255 --separate-stderr poolrun --header '^x' echo ::: a
    [[ $stderr == "poolrun: --header: '^x': only ':'"* ]]
}

@test "--tagstring tags each line with its replacement strings filled" {
    same_as_parallel --tagstring '{#}:{2}/{1.}' echo hi ::: a.x b.y ::: 1
}

@test "several -a are no longer read one after another; cat is the way" {
    run -0 poolrun -k -a f1 -a f2 echo
    [ "${lines[0]}" = "x 1" ]
    run -0 bash -c 'cat f1 f2 | "$POOLRUN" -k echo'
    [ "$output" = $'x\ny\nz\n1\n2' ]
}

@test "a missing :::: file is an error naming it before anything runs" {
    run -255 --separate-stderr poolrun touch ran ::: a :::: nope
    [ "$stderr" = "poolrun: :::: nope: no such file or directory" ]
    [ ! -e ran ]
}

@test ":::: without a file is refused" {
    run -255 --separate-stderr poolrun echo ::::
    [[ $stderr == "poolrun: :::: needs a file name"* ]]
}

@test "several inputs without a COMMAND are refused" {
    run -255 --separate-stderr poolrun -a f1 -a f2
    [[ $stderr == "poolrun: several inputs, --colsep and --header fill a COMMAND, and there is none"* ]]
}

@test "-n above 1 with several inputs is refused" {
    run -255 --separate-stderr poolrun -n 2 echo ::: a ::: b
    [[ $stderr == "poolrun: -n 2 cannot be combined with several inputs"* ]]
}

@test "submit refuses several inputs instead of reading them otherwise" {
    run -255 --separate-stderr poolrun submit echo ::: a ::: b
    [[ $stderr == "poolrun: submit: several inputs, :::: FILE"* ]]
}

# Items that would be code if they reached the shell unquoted.
hostile_items() {
    printf '%s\0' 'a b' "it's" 'say "hi"' '$(touch pwned1)' '`touch pwned2`' \
        'x;touch pwned3' '*' '-n' '--' $'new\nline'
}

@test "hostile items of two inputs stay data inside a quoted template" {
    hostile_items >h0
    printf '%s\0' '-e' '$(touch pwned4)' >g0
    run -0 poolrun -0 -k 'printf "<%s|%s>\n" "{1}" {2}' :::: h0 :::: g0
    [ ! -e pwned1 ]
    [ ! -e pwned2 ]
    [ ! -e pwned3 ]
    [ ! -e pwned4 ]
    want=$(hostile_items | while IFS= read -r -d '' it; do
        printf '<%s|%s>\n' "$it" '-e' "$it" '$(touch pwned4)'
    done)
    [ "$output" = "$want" ]
}

@test "hostile items of ::: inputs stay data, run directly or through sh" {
    run -0 poolrun -k printf '<%s>' {2} {1} ::: '-n' ::: '$(touch pwned1)' $'a\nb'
    [ "$output" = $'<$(touch pwned1)><-n><a\nb><-n>' ]
    run -0 poolrun -k 'printf "<%s>" {-1}; printf "[%s]" "{1}"' ::: '`touch pwned2`' ::: "it's"
    [ "$output" = "<it's>[\`touch pwned2\`]" ]
    [ ! -e pwned1 ]
    [ ! -e pwned2 ]
}

@test "hostile columns of --colsep stay data" {
    printf '%s\n' '$(touch pwned1),it'"'"'s;x' >cols
    run -0 poolrun --colsep , -k 'printf "<%s>" {2} "{1}"' :::: cols
    [ "$output" = "<it's;x><\$(touch pwned1)>" ]
    [ ! -e pwned1 ]
}

@test "the man page's examples of several inputs and --header run as documented" {
    man_examples >examples
    PATH="$(dirname "$POOLRUN"):$PATH"
    echo A >a.txt
    echo B >b.txt
    mkdir backup1 backup2
    run -0 bash -c "$(grep -F 'cp {1} {2}/' examples)"
    [ "$(cat backup1/a.txt backup2/a.txt backup1/b.txt backup2/b.txt)" = $'A\nA\nB\nB' ]
    printf 'name,age\nann,31\nbob,42\n' >people.csv
    run -0 bash -c "$(grep -F -- '--header :' examples)"
    [ "$output" = $'ann is 31\nbob is 42' ]
}
