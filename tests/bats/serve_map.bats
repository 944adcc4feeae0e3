#!/usr/bin/env bats
# poolrun submit takes what the one-shot command takes: a COMMAND with
# items (::: or -a), whose items never run as code, and the per-task
# options --retry-on, --on-done/--on-fail, --env, --cwd and --priority.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    load serve_helpers
    serve_setup
}

teardown() {
    serve_teardown
}


# Items that would do harm if they ran as code, or split, or were options.
hostile=('a b' "it's" 'say "hi"' '$(touch pwned)' '`touch pwned`' '-n' '--help' $'two\nlines' '*' ';touch pwned')

# args_of FILE: each NUL-terminated argument printf wrote to FILE, one per
# element of the array `got`.
args_of() {
    got=()
    local a
    while IFS= read -r -d '' a; do got+=("$a"); done <"$1"
}

@test "COMMAND ::: ITEM... is one task per item, each item one argument, byte for byte" {
    run -0 poolrun submit --wait sh -c 'printf "%s\0" "$@" > "out.$1"' sh {#} {} ::: "${hostile[@]}"
    [ ! -e pwned ]
    for i in "${!hostile[@]}"; do
        args_of "out.$((i + 1))"
        [ "${#got[@]}" -eq 2 ]
        [ "${got[1]}" = "${hostile[$i]}" ]
    done
}

@test "submit prints one id per item" {
    run -0 poolrun submit true ::: a b c
    [ "${#lines[@]}" -eq 3 ]
    run -0 poolrun wait "${lines[@]}"
}

@test "an item in a quoted shell COMMAND reaches it as it is, never as code" {
    run -0 poolrun submit --wait 'printf "%s\0" "x{}y" > "out.{#}"' ::: "${hostile[@]}"
    [ ! -e pwned ]
    for i in "${!hostile[@]}"; do
        args_of "out.$((i + 1))"
        [ "${got[0]}" = "x${hostile[$i]}y" ]
    done
}

@test "an item in an unquoted shell COMMAND is one word, never code" {
    run -0 poolrun submit --wait 'printf "%s\0" {} > out.{#}' ::: "${hostile[@]}"
    [ ! -e pwned ]
    for i in "${!hostile[@]}"; do
        args_of "out.$((i + 1))"
        [ "${#got[@]}" -eq 1 ]
        [ "${got[0]}" = "${hostile[$i]}" ]
    done
}

@test "-a FILE gives the items, one per line" {
    printf '%s\n' 'a b' '$(touch pwned)' -x >items
    run -0 poolrun submit --wait -a items sh -c 'printf "%s\0" "$2" > "out.$1"' sh {#} {}
    [ ! -e pwned ]
    args_of out.1
    [ "${got[0]}" = 'a b' ]
    args_of out.2
    [ "${got[0]}" = '$(touch pwned)' ]
    args_of out.3
    [ "${got[0]}" = '-x' ]
}

@test "-a - takes the items from stdin" {
    run -0 poolrun submit --wait -a - sh -c 'printf "%s\0" "$1" > "out.$2"' sh {} {#} < <(printf '%s\n' 'one item' "it's")
    args_of out.1
    [ "${got[0]}" = 'one item' ]
    args_of out.2
    [ "${got[0]}" = "it's" ]
}

@test "-0 splits the items at NUL bytes, so an item may hold a newline" {
    printf 'a\nb\0c d\0' >items
    run -0 poolrun submit --wait -0 -a items sh -c 'printf "%s\0" "$1" > "out.$2"' sh {} {#}
    args_of out.1
    [ "${got[0]}" = $'a\nb' ]
    args_of out.2
    [ "${got[0]}" = 'c d' ]
}

@test "-d C splits the items at C" {
    run -0 poolrun submit --wait -d , -a - sh -c 'printf "%s\0" "$1" > "out.$2"' sh {} {#} < <(printf 'x y,z')
    args_of out.1
    [ "${got[0]}" = 'x y' ]
    args_of out.2
    [ "${got[0]}" = 'z' ]
}

@test "-n N puts N items in one task" {
    run -0 poolrun submit --wait -n 2 sh -c 'printf "%s\0" "$@" > "out.$1"' sh {#} {} ::: a b c
    args_of out.1
    [ "${got[*]}" = '1 a b' ]
    args_of out.2
    [ "${got[*]}" = '2 c' ]
}

@test "{#} numbers the tasks of the submit from 1, and {.} {/} {//} {/.} take apart the item" {
    run -0 poolrun submit --wait echo {#} {.} {/} {//} {/.} ::: dir/x.tar.gz b.c
    [ "${lines[0]}" = '1 dir/x.tar x.tar.gz dir x.tar' ]
    [ "${lines[1]}" = '2 b b.c . b' ]
}

@test "-I STR stands for the item, and {} is then plain text" {
    run -0 poolrun submit --wait -I @ echo {} @ ::: x
    [ "$output" = '{} x' ]
}

@test "-E STR ends the items there" {
    run -0 poolrun submit --wait -E stop echo ::: a stop b
    [ "$output" = 'a' ]
}

@test "an empty item list runs COMMAND once with none, as xargs does" {
    run -0 poolrun submit --wait echo none :::
    [ "$output" = 'none' ]
}

@test "-r with an empty item list submits nothing and exits 0" {
    run -0 poolrun submit -r true :::
    [ "$output" = '' ]
    [ ! -e "$sock" ]
}

@test "a COMMAND alone is one task, its words as they are: stdin is not read" {
    run -0 poolrun submit --wait printf '%s\n' {} {#} < <(printf 'a\nb\n')
    [ "$output" = $'{}\n{#}' ]
}

@test "without a COMMAND, -a FILE's lines are shell lines, as the one-shot's" {
    printf 'echo one > one\necho two > two\n' >lines
    run -0 poolrun submit --wait -a lines
    [ "$(cat one)" = one ]
    [ "$(cat two)" = two ]
}

@test "an input option with a COMMAND alone is refused: it needs ::: or -a" {
    run -255 poolrun submit -n 2 echo hi
    [ "$output" = 'poolrun: submit: -n is for items: give them with ::: or -a (- for stdin); a COMMAND alone is one task' ]
}

@test "{%} is refused: the slot is known only when the task starts" {
    run -255 poolrun submit echo {%} ::: a
    [ "$output" = 'poolrun: submit: {%} (the slot) is known only when the task starts: use $POOLRUN_SLOT' ]
}

@test "a shell COMMAND where no quoting keeps an item literal is refused before anything is sent" {
    run -255 poolrun submit 'echo `{}`' ::: a
    [[ $output == "poolrun: submit: "*'inside `...`'* ]]
    [ ! -e "$sock" ]
}

@test "a missing -a FILE is refused, naming it" {
    run -255 poolrun submit -a nosuch echo
    [ "$output" = 'poolrun: submit: -a nosuch: no such file or directory' ]
}

@test "--env NAME=VALUE sets the variable for the task, the last one winning" {
    run -0 poolrun submit --wait --env 'X=a b' --env 'Y=$(no)' --env X=c sh -c 'printf "%s|%s" "$X" "$Y" > out'
    [ "$(cat out)" = 'c|$(no)' ]
}

@test "--env overrides the submitter's own variable" {
    X=mine run -0 poolrun submit --wait --env X=given sh -c 'printf %s "$X" > out'
    [ "$(cat out)" = given ]
}

@test "--env that is not NAME=VALUE is refused, naming it" {
    run -255 poolrun submit --env NOVALUE true
    [ "$output" = 'poolrun: submit: --env NOVALUE: not NAME=VALUE (POOLRUN_SEQ and POOLRUN_SLOT are set for each task)' ]
    run -255 poolrun submit --env POOLRUN_SLOT=1 true
}

@test "--cwd DIR runs the task there, relative to the submitter's folder" {
    mkdir -p sub/deeper
    run -0 poolrun submit --wait --cwd sub/deeper sh -c 'pwd > where'
    [ "$(cat sub/deeper/where)" = "$BATS_TEST_TMPDIR/sub/deeper" ]
}

@test "--cwd that is not a folder is refused, naming it" {
    run -255 poolrun submit --cwd nowhere true
    [ "$output" = 'poolrun: submit: --cwd nowhere: no such file or directory' ]
    touch afile
    run -255 poolrun submit --cwd afile true
    [ "$output" = 'poolrun: submit: --cwd afile: not a folder' ]
}

@test "--on-done runs after a task that succeeded, in its folder, with its output on stdin" {
    run -0 poolrun submit --wait --id t1 --on-done 'cat > done.out; echo "$POOLRUN_ID $POOLRUN_STATUS" >> done.out; touch done.flag' echo hello
    wait_for 10 test -e done.flag
    [ "$(cat done.out)" = $'hello\nt1 ok' ]
}

@test "--on-fail runs after a task that failed, and --on-done does not" {
    run -3 poolrun submit --wait --on-done 'touch wrong' --on-fail 'echo "$POOLRUN_EXIT" > fail.out' sh -c 'exit 3'
    wait_for 10 test -s fail.out
    [ "$(cat fail.out)" = 3 ]
    [ ! -e wrong ]
}

@test "a callback gets the task's --env" {
    run -0 poolrun submit --wait --env X=given --on-done 'printf %s "$X" > cb.out' true
    wait_for 10 test -s cb.out
    [ "$(cat cb.out)" = given ]
}

@test "--retry-on retries only what it lists" {
    run -3 poolrun submit --wait --retries 2 --retry-on 3 sh -c 'echo x >> tries; exit 3'
    [ "$(wc -l <tries)" -eq 3 ]
    rm tries
    run -4 poolrun submit --wait --retries 2 --retry-on 3 sh -c 'echo x >> tries; exit 4'
    [ "$(wc -l <tries)" -eq 1 ]
}

@test "a bad --retry-on is refused, naming the word" {
    run -255 poolrun submit --retry-on 3,bogus true
    [ "$output" = "poolrun: submit: --retry-on: 'bogus' is not an exit code (0-255), timeout or a signal name" ]
}

@test "--priority starts the highest first, ties in submit order" {
    start_service -j 1
    mkfifo gate
    run -0 poolrun submit sh -c 'touch started; cat gate > /dev/null'
    wait_for 10 test -e started
    run -0 poolrun submit --priority -5 sh -c 'echo low >> order'
    run -0 poolrun submit sh -c 'echo zero >> order'
    run -0 poolrun submit --priority 7 sh -c 'echo high >> order'
    run -0 poolrun submit sh -c 'echo zero2 >> order'
    echo go >gate
    run -0 poolrun join
    [ "$(paste -sd ' ' order)" = 'high zero zero2 low' ]
}

@test "a bad --priority is refused, naming the option" {
    run -255 poolrun submit --priority 1.5 true
    [ "$output" = 'poolrun: submit: --priority must be a whole number from -1000000000 to 1000000000' ]
}

@test "the options hold for every task of a map submit" {
    mkdir sub
    run -0 poolrun submit --wait --cwd sub --env X=v sh -c 'printf "%s %s" "$X" "$1" > "out.$1"' sh ::: 1 2
    [ "$(cat sub/out.1)" = 'v 1' ]
    [ "$(cat sub/out.2)" = 'v 2' ]
}

@test "a task object's retry_on, as in a job file, retries only what it lists" {
    printf '%s\n' '{"cmd":"echo x >> tries; exit 3","retries":2,"retry_on":"3,timeout"}' >t.jsonl
    run -3 poolrun submit --wait --json <t.jsonl
    [ "$(wc -l <tries)" -eq 3 ]
}

@test "a job file's bad retry_on refuses the submit, naming the field" {
    echo '{"tasks":[{"cmd":"true","retry_on":"3,bogus"}]}' >j.json
    run -255 poolrun submit -f j.json
    [[ $output == *'tasks[0].retry_on: must be a list of exit codes (0-255), timeout and signal names, separated by commas'* ]]
}

@test "without a COMMAND, -n N runs N lines of stdin as one script" {
    run -0 poolrun submit --wait -n 2 < <(printf 'echo a\necho b\necho c\n')
    [ "$output" = $'a\nb\nc' ]
    run -0 poolrun status --json
    [ "$(jq '[.queues[].total] | add' <<<"$output")" -eq 2 ]
}

@test "an item that cannot be an argument refuses the whole submit, naming its task" {
    run -255 poolrun submit -a - echo < <(printf 'ok\na\0b\n')
    [ "$output" = 'poolrun: submit: task 2 (echo a): an argument contains a NUL byte' ]
    [ ! -e "$sock" ]
}
