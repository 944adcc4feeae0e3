#!/usr/bin/env bats
# Map mode: poolrun [OPTIONS] COMMAND [ARG...], a parallel xargs.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
}

# The hostile items, each followed by a NUL (the format of -0 input).
hostile_items() {
    printf '%s\0' 'a b' "it's" 'say "hi"' '$(touch pwned1)' '`touch pwned2`' \
        'x;touch pwned3' '*' '-n' '--' 'trailing\' $'\xff\xfe latin1 \xe9' \
        $'new\nline' ' lead space' 'tab	in'
}

no_code_ran() {
    [ ! -e pwned1 ] || return 1
    [ ! -e pwned2 ] || return 1
    [ ! -e pwned3 ]
}

@test "every replacement string takes its part of the item" {
    run -0 poolrun -j 1 -k echo '{}' '{.}' '{/}' '{//}' '{/.}' '{#}' '{%}' ::: dir.x/sub/file.tar.gz plain
    [ "${lines[0]}" = "dir.x/sub/file.tar.gz dir.x/sub/file.tar file.tar.gz dir.x/sub file.tar 1 1" ]
    [ "${lines[1]}" = "plain plain plain . plain 2 1" ]
}

@test "replacement strings inside a word and a leading-dot name" {
    run -0 poolrun -k echo 'pre-{}-post' '{.}' '{/.}' ::: .bashrc /abs/x.y
    [ "${lines[0]}" = "pre-.bashrc-post .bashrc .bashrc" ]
    [ "${lines[1]}" = "pre-/abs/x.y-post /abs/x x" ]
}

@test "without a replacement string the item is appended as one argument" {
    run -0 poolrun -k printf '[%s]\n' ::: 'a b' c
    [ "$output" = $'[a b]\n[c]' ]
}

@test "-I sets another string for the item, and {} is then plain text" {
    run -0 poolrun -k -I XX echo 'XX' '{}' 'x-XX' ::: one
    [ "$output" = "one {} x-one" ]
}

@test "a command of several words passes hostile items literally, one argument each" {
    hostile_items >items
    poolrun -k -0 printf '%s\0' <items >out
    cmp out items
    no_code_ran
}

@test "a shell command quotes every hostile item" {
    hostile_items >items
    poolrun -j 1 -0 "printf '%s\\0' {} >> shell-out; echo done" <items >/dev/null
    cmp shell-out <(hostile_items)
    no_code_ran
}

@test "--shell runs any command through the shell with items quoted" {
    hostile_items >items
    poolrun -k -0 --shell printf "'%s\\0'" '{}' <items >out
    cmp out items
    no_code_ran
}

@test "hostile items appended without a replacement string stay literal" {
    hostile_items >items
    poolrun -k -0 --shell "printf '%s\\0'" <items >out
    cmp out items
    poolrun -k -0 printf '%s\0' <items >out2
    cmp out2 items
    no_code_ran
}

@test "newline is the default delimiter; -0 and -d choose another" {
    run -0 poolrun -k echo <<<$'a b\nc'
    [ "$output" = $'a b\nc' ]
    run -0 bash -c 'printf "a\nb\0c" | "$POOLRUN" -k -0 printf "[%s]"'
    [ "$output" = $'[a\nb][c]' ]
    run -0 bash -c 'printf "x,y,z" | "$POOLRUN" -k -d , echo'
    [ "$output" = $'x\ny\nz' ]
    run -0 bash -c 'printf "x\ty" | "$POOLRUN" -k -d "\\t" echo'
    [ "$output" = $'x\ny' ]
    run -0 bash -c 'printf "x\0y" | "$POOLRUN" -k -d "\\0" echo'
    [ "$output" = $'x\ny' ]
    run -0 bash -c 'printf "x\\\\y" | "$POOLRUN" -k -d "\\\\" echo'
    [ "$output" = $'x\ny' ]
    run -0 bash -c 'printf "x\ny" | "$POOLRUN" -k -d "\\n" echo'
    [ "$output" = $'x\ny' ]
}

@test "a bad delimiter is an error naming -d" {
    run -255 --separate-stderr poolrun -d ab echo </dev/null
    [[ $stderr == "poolrun: -d: 'ab' is not one character"* ]]
}

@test "-a reads items from a file, and - is stdin" {
    printf '1\n2\n' >f1
    run -0 poolrun -k -a f1 echo
    [ "$output" = $'1\n2' ]
    run -0 bash -c 'echo 4 | "$POOLRUN" -k -a - echo'
    [ "$output" = 4 ]
}

@test "-a with a missing file is an error before anything runs" {
    printf 'x\n' >f1
    run -255 --separate-stderr poolrun -a f1 -a missing touch
    [[ $stderr == *"-a missing: no such file or directory"* ]]
    [ ! -e x ]
}

@test "::: gives the items on the command line, and stdin is not read" {
    run -0 bash -c 'echo never | "$POOLRUN" -k echo ::: "a b" c'
    [ "$output" = $'a b\nc' ]
}

@test "-n puts up to N items in one task" {
    run -0 bash -c 'seq 5 | "$POOLRUN" -k -n 2 echo'
    [ "$output" = $'1 2\n3 4\n5' ]
    # A word that is just {} gives one argument per item.
    run -0 poolrun -k -n 2 printf '[%s]' '{}' ::: 'a b' c d
    [ "$output" = '[a b][c][d]' ]
}

@test "-r runs nothing on empty input; without it the command runs once" {
    run -0 bash -c '"$POOLRUN" -r echo ran </dev/null'
    [ -z "$output" ]
    run -0 bash -c '"$POOLRUN" echo ran </dev/null'
    [ "$output" = ran ]
}

@test "-E stops reading at the sentinel; what came before runs to completion" {
    run -0 bash -c 'printf "1\n2\nSTOP\n3\n" | "$POOLRUN" -k -E STOP echo'
    [ "$output" = $'1\n2' ]
    run -0 poolrun -k --sentinel END echo ::: a END b
    [ "$output" = a ]
}

@test "--tag prefixes each line of stdout and stderr with the item and a tab" {
    run -0 --separate-stderr poolrun -k --tag sh -c 'echo out1; echo out2; echo err >&2' sh ::: 'x y' z
    [ "$output" = $'x y\tout1\nx y\tout2\nz\tout1\nz\tout2' ]
    [ "$stderr" = $'x y\terr\nz\terr' ]
}

@test "--dry-run prints pasteable commands and runs nothing" {
    hostile_items >items
    run -0 poolrun -k -0 --dry-run touch <items
    [ "$(ls | wc -l)" -eq 1 ]
    # Pasted into a shell, each line passes the same item.
    run -0 poolrun -k -0 --dry-run printf '%s\0' <items
    printf '%s\n' "$output" >cmds
    sh cmds >out
    cmp out items
    no_code_ran
}

@test "without a COMMAND the items are shell lines, with -0 and -n too" {
    run -0 bash -c 'printf "echo a\0echo b\0echo c" | "$POOLRUN" -k -0 -n 2'
    [ "$output" = $'a\nb\nc' ]
}

@test "a missing command fails with 127 and a non-executable one with 126" {
    printf 'echo hi\n' >notexec
    chmod 644 notexec
    run -1 --separate-stderr poolrun no-such-cmd-xyz ::: x
    [[ $stderr == *"no-such-cmd-xyz: command not found"* ]]
    [[ $stderr == *"exit status 127"* ]]
    run -1 --separate-stderr poolrun ./notexec ::: x
    [[ $stderr == *"exit status 126"* ]]
}

@test "an item with a NUL byte cannot be an argument: that task alone is an error" {
    run -1 --separate-stderr bash -c 'printf "ok\nbad\0byte\n" | "$POOLRUN" -k echo'
    [ "$output" = ok ]
    [[ $stderr == *"an argument contains a NUL byte"* ]]
}

@test "an item too long for one argument fails alone; through the shell it runs" {
    { head -c 200000 /dev/zero | tr '\0' a; printf '\nshort\n'; } >long
    run -1 --separate-stderr poolrun -k echo -n <long
    [ "$output" = short ]
    [[ $stderr == *"argument list too long"* ]]
    run -0 poolrun -k --shell 'printf %s {} | wc -c' <long
    [ "${lines[0]}" = 200000 ]
}

@test "{#} and {%} count tasks and slots" {
    run -0 poolrun -j 2 -k echo '{#}' '{%}' ::: a b c d
    [ "$(cut -d' ' -f1 <<<"$output" | tr '\n' ' ')" = "1 2 3 4 " ]
    [ "$(cut -d' ' -f2 <<<"$output" | sort -u | tr '\n' ' ')" = "1 2 " ]
}

@test "an executable without #! runs as a shell script, as execvp and sh do" {
    printf 'echo "script got: $1"\n' >noshebang
    chmod +x noshebang
    run -0 poolrun -k ./noshebang ::: 'a b'
    [ "$output" = "script got: a b" ]
    run -0 poolrun <<<'./noshebang plain'
    [ "$output" = "script got: plain" ]
    mkdir bin
    cp noshebang bin/found-in-path
    PATH="$PWD/bin:$PATH" run -0 "$POOLRUN" found-in-path ::: x
    [ "$output" = "script got: x" ]
}
