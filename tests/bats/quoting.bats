#!/usr/bin/env bats
# Quoting in a shell COMMAND: a value is quoted for the context it stands in
# (unquoted, '...', "...", here-documents), so that the shell hands the
# command the item's exact bytes; a place where no quoting is safe refuses
# the COMMAND before anything runs.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
}

# Hostile items, each followed by a NUL (the format of -0 input).  Those
# that would run code create a file named pwned*.
hostile_items() {
    printf '%s\0' '$(touch pwned1)' '`touch pwned2`' 'a;touch pwned3' \
        "it's" '"' "'" '\' 'trailing\' 'say "hi" to $HOME' \
        '${x:-$(touch pwned4)}' "\$'\\x41'" '"$(touch pwned5)"' \
        "'\$(touch pwned6)'" '-n' '--' '*' $'new\nline' $'tab\there' \
        ' lead space' $'\xff\xfe latin1 \xe9' '%s%d' '!$' '\\' '\"'
}

# How many pwned* files the items made (0 when no item ran as code).
pwned_files() {
    find . -name 'pwned*' | wc -l
}

@test "the issue's reproducer: a single-quoted {} runs no item as code" {
    run -0 poolrun -k "echo '{}'" ::: '$(touch pwned1)' 'a;touch pwned2'
    [ "$output" = $'$(touch pwned1)\na;touch pwned2' ]
    [ "$(pwned_files)" -eq 0 ]
}

@test "a double-quoted {} is the item, without quotes around it" {
    run -0 poolrun 'echo "{}"' ::: 'a b'
    [ "$output" = 'a b' ]
}

@test "--dry-run shows the exact line, and pasted into sh it prints the item" {
    local item line
    for item in '$(touch pwned1)' "it's \"q\"" '`touch pwned2`' 'a\'; do
        line=$(poolrun --dry-run "echo '{}' \"{}\"" ::: "$item")
        [ "$(sh -c "$line")" = "$item $item" ]
    done
    run -0 poolrun --dry-run "echo '{}'" ::: '$(touch pwned1)'
    [ "$output" = "echo '\$(touch pwned1)'" ]
    [ "$(pwned_files)" -eq 0 ]
}

@test "inside double quotes every hostile item reaches the command byte for byte" {
    hostile_items >items
    poolrun -k -0 'printf "%s\0" "{}"' <items >out
    cmp out items
    [ "$(pwned_files)" -eq 0 ]
}

@test "inside single quotes every hostile item reaches the command byte for byte" {
    hostile_items >items
    xargs -0 printf '<%s>\0' <items >want
    poolrun -k -0 "printf '%s\\0' '<{}>'" <items >out
    cmp out want
    [ "$(pwned_files)" -eq 0 ]
}

@test "unquoted, and inside \"\$(...)\" in double quotes, every hostile item is exact" {
    hostile_items >items
    poolrun -k -0 'printf "%s\0" {}' <items >out
    cmp out items
    poolrun -k -0 'printf "%s\0" "$(printf %s "{}")"' <items >out2
    cmp out2 items
    [ "$(pwned_files)" -eq 0 ]
}

@test "-I STR is quoted by its context as {} is" {
    hostile_items >items
    poolrun -k -0 -I @@ "printf '%s\\0' \"@@\"" <items >out
    cmp out items
    [ "$(pwned_files)" -eq 0 ]
}

@test "in a here-document, unquoted, quoted or with <<-, every hostile item is exact" {
    hostile_items >items
    xargs -0 printf '<%s>\n' <items >want
    poolrun -k -0 $'cat <<EOF\n<{}>\nEOF' <items >out
    cmp out want
    poolrun -k -0 $'cat <<\'EOF\'\n<{}>\nEOF' <items >out2
    cmp out2 want
    poolrun -k -0 $'cat <<-EOF\n\t<{}>\n\tEOF' <items >out3
    cmp out3 want
    [ "$(pwned_files)" -eq 0 ]
}

@test "the --dry-run line gives bash --posix the item's bytes too, even in \$(...) in a here-document" {
    command -v bash >/dev/null || skip "no bash"
    local item line
    hostile_items >items
    printf '%s\0' $'back\\\nslash' >>items
    while IFS= read -r -d '' item; do
        line=$(poolrun --dry-run $'cat <<EOF\n$(printf %s "<{}>" \'[{}]\' {})\nEOF' ::: "$item")
        printf '<%s>[%s]%s\n' "$item" "$item" "$item" >want
        bash --posix -c "$line" >got
        cmp got want
    done <items
    [ "$(pwned_files)" -eq 0 ]
}

@test "an item that would end its here-document early is an error for its task alone" {
    printf '%s\0' ok $'x\nEOF\ntouch pwned1' fine >items
    run -1 --separate-stderr poolrun -k -0 $'cat <<EOF\n{}\nEOF' <items
    [ "$output" = $'ok\nfine' ]
    [[ $stderr == *"task 2"*"would end its here-document early"* ]]
    [ "$(pwned_files)" -eq 0 ]
}

@test "an item with a NUL byte cannot reach the shell: that task alone is an error" {
    run -1 --separate-stderr bash -c \
        'printf "ok\nbad\0byte\n" | "$POOLRUN" -k "printf \"%s\n\" \"{}\""'
    [ "$output" = ok ]
    [[ $stderr == *"task 2"*"NUL byte"* ]]
}

@test "{} inside backquotes is refused before anything runs: exit 255 and its place" {
    run -255 --separate-stderr poolrun 'touch ran; echo `{}`' ::: x
    [ "$stderr" = 'poolrun: COMMAND:1:18: {} is inside `...`, where no quoting keeps an item literal: use $(...) instead' ]
    [ -z "$output" ]
    [ ! -e ran ]
}

@test "other places without safe quoting are refused, also with --dry-run" {
    run -255 --separate-stderr poolrun --dry-run 'echo "${x:-{}}"' ::: x
    [[ $stderr == 'poolrun: COMMAND:1:12: {} is inside ${...}'* ]]
    [ -z "$output" ]
    run -255 --separate-stderr poolrun $'echo a\necho $(( {} + 1 ))' ::: 1
    [[ $stderr == 'poolrun: COMMAND:2:10: {} is inside $((...))'* ]]
    run -255 --separate-stderr poolrun "echo '{}" ::: x
    [ "$stderr" = "poolrun: COMMAND:1:7: {} is inside '...' opened at 1:6, which is never closed" ]
    run -255 --separate-stderr poolrun '[[ {} == a ]] && echo a' ::: a
    [[ $stderr == 'poolrun: COMMAND:1:4: {} comes after [[ at 1:1'* ]]
    [ "$(wc -l <<<"$stderr")" -eq 1 ]
}

@test "without {}, a COMMAND that ends in a comment is refused: the items would vanish there" {
    run -255 --separate-stderr poolrun 'echo hi # say hi' ::: x
    [ "$stderr" = 'poolrun: COMMAND:1:17: has no {}, and the items cannot be appended: it ends in a comment' ]
    [ -z "$output" ]
}

@test "{#} and {%} are digits in any context, even inside backquotes" {
    run -0 poolrun -j 1 -k 'echo "{#}:{%}" `echo {#}` ${x:-{%}} {}' ::: a b
    [ "$output" = $'1:1 1 1 a\n2:1 2 1 b' ]
}

@test "a COMMAND of several words runs without a shell: quotes in its words are text" {
    run -0 poolrun -k printf '[%s]\n' "'{}'" '"{}"' '`{}`' ::: 'a b'
    [ "$output" = $'[\'a b\']\n["a b"]\n[`a b`]' ]
}
