#!/usr/bin/env bats
# Shell completion (cmd/completions/): bash's and zsh's, driven as the shells
# drive them, checked against the option table of cmd/options.c and the
# verbs of cmd/verbs.c so that neither can fall behind; and where
# `cmake --install` puts them.
bats_require_minimum_version 1.5.0

# compinit's dump, made once for the file's zsh tests: scanning $fpath
# takes seconds; reading the dump does not.
setup_file() {
    if command -v zsh >/dev/null; then
        zsh -f -c 'fpath=("$1" $fpath); autoload -U compinit
            compinit -u -d "$2"' _ "$PR_SRC/cmd/completions" \
            "$BATS_FILE_TMPDIR/zcompdump"
    fi
}

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
    BASH_COMP=$PR_SRC/cmd/completions/poolrun.bash
    ZSH_DIR=$PR_SRC/cmd/completions
}

# bash_complete WORD...: what the bash completion offers for the last WORD
# (the one being typed) after the others, one a line.  A bash of its own,
# so nothing of the test's shell leaks in.
bash_complete() {
    bash --norc -c 'source "$1" || exit 2
        shift
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        _poolrun
        printf "%s\n" "${COMPREPLY[@]}"' _ "$BASH_COMP" "$@"
}

# zsh_complete LINE: what zsh offers at the end of LINE, one a line, as a
# TAB on a terminal gets it (zpty drives an interactive zsh -f).
zsh_complete() {
    timeout 30 zsh -f "$PR_SRC/tests/bats/zsh_complete.zsh" "$ZSH_DIR" "$1" \
        "$BATS_FILE_TMPDIR/zcompdump"
}

need_zsh() {
    command -v zsh >/dev/null || skip "zsh is not installed (CI installs it)"
}

# The options of cmd/options.c's table, one a line: "NAME arg" for one that
# takes a value, "NAME flag" for one that does not.  Rows of --help only
# (no name) and options poolrun refuses (refuse_option) are left out: a
# completion does not offer what is refused.
table_options() {
    awk '
    function row(   kind, rest, name) {
        if (r == "" || r ~ /refuse_option/)
            return
        kind = r ~ /\.arg = / ? "arg" : "flag"
        rest = r
        while (match(rest, /\.(longname|alias) = "[^"]*"/)) {
            name = substr(rest, RSTART, RLENGTH)
            sub(/^[^"]*"/, "", name)
            sub(/"$/, "", name)
            print "--" name, kind
            rest = substr(rest, RSTART + RLENGTH)
        }
        rest = r
        while (match(rest, /\.short(name|alias) = \047.\047/)) {
            print "-" substr(rest, RSTART + RLENGTH - 2, 1), kind
            rest = substr(rest, RSTART + RLENGTH)
        }
    }
    /^static const struct opt opts\[\] = \{/ { on = 1; next }
    on && /^\};/ { row(); exit }
    on && /^    \{/ { row(); r = "" }
    on { r = r $0 " " }' "$PR_SRC/cmd/options.c"
}

# The verbs cmd/verbs.c dispatches, one a line, and report (another verb,
# cmd/report.c).
table_verbs() {
    awk '/} verbs\[\] = \{/ { on = 1; next }
         on && /^    \};/ { exit }
         on' "$PR_SRC/cmd/verbs.c" | grep -o '{"[a-z]*", verb_' | cut -d'"' -f2
    echo report
}

# verb_help_options VERB: the options `poolrun VERB --help` names, one a
# line, but those it names as another verb's (submit's usage points to
# `log ID --follow`, log's and resume's to serve's options).
verb_help_options() {
    poolrun "$1" --help |
        grep -oE '(^|[][ (,|])--?[a-zA-Z0-9][-a-zA-Z0-9]*' |
        sed 's/^[][ (,|]//' | sort -u |
        case $1 in
        submit) grep -vx -e --follow ;;
        log) grep -vx -e --results-limit ;;
        resume) grep -vx -e --start-paused ;;
        *) cat ;;
        esac
}

@test "the option table and the verb table read as expected" {
    # Guards the two readers above: a table they could not read would make
    # the drift tests below pass with nothing to check.
    run -0 table_options
    [ "${#lines[@]}" -ge 75 ]
    [[ $output == *"--order arg"* ]]
    [[ $output == *"--keep-order flag"* ]]
    [[ $output == *"-j arg"* ]]
    [[ $output == *"-P arg"* ]]
    [[ $output == *"--spreadstdin flag"* ]]
    [[ $output != *"--recstart"* ]]
    run -0 table_verbs
    [ "${#lines[@]}" -ge 12 ]
    [[ $output == *submit* ]]
}

@test "sourcing the bash completion registers it for poolrun" {
    run -0 bash --norc -c 'source "$1"; complete -p poolrun' _ "$BASH_COMP"
    [ "$output" = "complete -F _poolrun poolrun" ]
}

@test "bash completes --ord to --order" {
    run -0 bash_complete poolrun --ord
    [ "$output" = "--order" ]
}

@test "bash completes the values of --order, --protocol and --exit-status" {
    run -0 bash_complete poolrun --order ''
    [ "$output" = $'fifo\nlifo\npriority' ]
    run -0 bash_complete poolrun -j 4 --order=l
    [ "$output" = "lifo" ]
    # As bash gives --order=l: split at "=" (COMP_WORDBREAKS).
    run -0 bash_complete poolrun -j 4 --order = l
    [ "$output" = "lifo" ]
    run -0 bash_complete poolrun --order =
    [ "$output" = $'fifo\nlifo\npriority' ]
    run -0 bash_complete poolrun --order = lifo --ord
    [ "$output" = "--order" ]
    run -0 bash_complete poolrun --workers cat --protocol ''
    [ "$output" = $'line\njson' ]
    run -0 bash_complete poolrun --exit-status ''
    [ "$output" = $'count\nfirst\nlast\nmax' ]
}

@test "bash completes --halt in the forms the man page gives" {
    run -0 bash_complete poolrun --halt ''
    [ "$output" = $'never\n1\n2\nnow,\nsoon,' ]
    run -0 bash_complete poolrun --halt soon,
    [ "$output" = $'soon,fail=\nsoon,success=\nsoon,done=' ]
    run -0 bash_complete poolrun --halt now,s
    [ "$output" = "now,success=" ]
}

@test "bash completes a file name with a space where a file is expected" {
    mkdir d
    touch 'd/my items.txt' d/other
    cd d
    run -0 bash_complete poolrun -a my
    [ "$output" = "my items.txt" ]
    run -0 bash_complete poolrun -k --joblog my
    [ "$output" = "my items.txt" ]
    run -0 bash_complete poolrun --joblog +my
    [ "$output" = "+my items.txt" ]
    run -0 bash_complete poolrun -f my
    [ "$output" = "my items.txt" ]
    run -0 bash_complete poolrun echo :::: my
    [ "$output" = "my items.txt" ]
}

@test "in an interactive bash, TAB completes a file name with a space as one word, and --order=" {
    # readline quotes the name only if the completion asked for file names
    # (compopt -o filenames), which only a real completion can show.
    mkdir d
    touch 'd/my items.txt'
    cd d
    run -0 timeout 60 python3 "$PR_SRC/tests/bats/bash_readline.py" \
        "$BASH_COMP" 'poolrun -k -a my'
    [ "$output" = $'<-k>\n<-a>\n<my items.txt>' ]
    run -0 timeout 60 python3 "$PR_SRC/tests/bats/bash_readline.py" \
        "$BASH_COMP" 'poolrun --ord'
    [ "$output" = "<--order>" ]
    run -0 timeout 60 python3 "$PR_SRC/tests/bats/bash_readline.py" \
        "$BASH_COMP" 'poolrun --order=l'
    [ "$output" = "<--order=lifo>" ]
    run -0 timeout 60 python3 "$PR_SRC/tests/bats/bash_readline.py" \
        "$BASH_COMP" 'poolrun --order=lifo --ord'
    [ "$output" = "<--order=lifo>"$'\n'"<--order>" ]
}

@test "bash completes no file where a number is expected" {
    touch 4file
    run -0 bash_complete poolrun -j ''
    [ "$output" = "" ]
    run -0 bash_complete poolrun --timeout 4
    [ "$output" = "" ]
}

@test "bash completes every verb as the first word, and only there" {
    local verb
    run -0 bash_complete poolrun ''
    for verb in $(table_verbs); do
        [[ $'\n'$output$'\n' == *$'\n'"$verb"$'\n'* ]] || {
            echo "bash does not complete the verb $verb" >&2
            return 1
        }
    done
    run -0 bash_complete poolrun subm
    [ "$output" = "submit" ]
    run -0 bash_complete poolrun -k subm
    [[ $output != *submit* ]]
}

@test "bash completes a verb's own options" {
    run -0 bash_complete poolrun submit --aft
    [ "$output" = "--after" ]
    run -0 bash_complete poolrun worker --lea
    [ "$output" = "--lease" ]
    run -0 bash_complete poolrun serve --start
    [ "$output" = "--start-paused" ]
    run -0 bash_complete poolrun status --j
    [ "$output" = "--json" ]
    touch run.jsonl
    run -0 bash_complete poolrun report ru
    [ "$output" = "run.jsonl" ]
    run -0 bash_complete poolrun report run.jsonl -o ru
    [ "$output" = "run.jsonl" ]
}

@test "bash and zsh offer each verb the options its --help names" {
    local verb opt bash_opts zsh_opts
    for verb in $(table_verbs); do
        [ "$verb" != report ] || continue # its own helper's; not built here
        run -0 verb_help_options "$verb"
        [ -n "$output" ] || {
            echo "no option read from poolrun $verb --help" >&2
            return 1
        }
        bash_opts=$(bash_complete poolrun "$verb" -)
        zsh_opts=
        if command -v zsh >/dev/null; then
            zsh_opts=$(zsh_complete "poolrun $verb -")
        fi
        for opt in $output; do
            [[ $'\n'$bash_opts$'\n' == *$'\n'"$opt"$'\n'* ]] || {
                echo "bash does not complete poolrun $verb $opt" >&2
                return 1
            }
            [ -z "$zsh_opts" ] || [[ $'\n'$zsh_opts$'\n' == *$'\n'"$opt"$'\n'* ]] || {
                echo "zsh does not complete poolrun $verb $opt" >&2
                return 1
            }
        done
    done
}

@test "bash offers every option of the table, and knows which take a value" {
    # One bash for all of them: a bash a completion would take seconds.
    # After an option that takes a value and its value, options again;
    # after a flag, x is COMMAND and --ord one of its words.
    run -0 bash --norc -c 'source "$1" || exit 2
        COMP_WORDS=(poolrun -)
        COMP_CWORD=1
        _poolrun
        opts=" ${COMPREPLY[*]} "
        while read -r name kind; do
            [[ $opts == *" $name "* ]] ||
                echo "bash does not complete $name (cmd/options.c)"
            COMP_WORDS=(poolrun "$name" x --ord)
            COMP_CWORD=3
            _poolrun
            if [ "$kind" = arg ] && [ "${COMPREPLY[*]}" != --order ]; then
                echo "bash reads the value of $name as COMMAND"
            elif [ "$kind" = flag ] && [ "${#COMPREPLY[@]}" != 0 ]; then
                echo "bash reads the word after $name as its value"
            fi
        done' _ "$BASH_COMP" < <(table_options)
    [ "$output" = "" ] || {
        echo "$output" >&2
        return 1
    }
}

@test "an item or a file name stays data in bash completion" {
    # shellcheck disable=SC2016
    touch -- '$(touch pwned)' '-rf x'
    run -0 bash_complete poolrun -a '$(touch'
    [ "$output" = '$(touch pwned)' ]
    run -0 bash_complete poolrun -a -r
    [ "$output" = "-rf x" ]
    run -0 bash_complete poolrun echo ::: '`touch pwned2`' '$(touch pwned3)'
    [ ! -e pwned ]
    [ ! -e pwned2 ]
    [ ! -e pwned3 ]
}

@test "the zsh completion loads with compinit in zsh -f" {
    need_zsh
    # autoload +X reads the file (a syntax error shows here) without
    # running it.
    run -0 --separate-stderr zsh -f -c 'fpath=("$1" $fpath)
        autoload -U compinit
        compinit -u -d "$2"
        autoload +X _poolrun
        print -r -- $_comps[poolrun] $(whence -w _poolrun)' _ \
        "$ZSH_DIR" "$BATS_FILE_TMPDIR/zcompdump"
    [ "$output" = "_poolrun _poolrun: function" ]
    [ "$stderr" = "" ]
}

@test "zsh completes --ord to --order and the values of --order" {
    need_zsh
    run -0 zsh_complete 'poolrun --ord'
    [ "$output" = "--order" ]
    run -0 zsh_complete 'poolrun --order '
    [ "$output" = $'fifo\nlifo\npriority' ]
    run -0 zsh_complete 'poolrun --halt now,'
    [ "$output" = $'fail\nsuccess\ndone' ]
}

@test "zsh completes a file name with a space after -a" {
    need_zsh
    mkdir d
    touch 'd/my items.txt'
    cd d
    run -0 zsh_complete 'poolrun -a my'
    [ "$output" = 'my\ items.txt' ]
}

@test "zsh completes the verbs as the first word, and a verb's options" {
    need_zsh
    local verb
    run -0 zsh_complete 'poolrun '
    for verb in $(table_verbs); do
        [[ $'\n'$output$'\n' == *$'\n'"$verb"$'\n'* ]] || {
            echo "zsh does not complete the verb $verb" >&2
            return 1
        }
    done
    run -0 zsh_complete 'poolrun submit --aft'
    [ "$output" = "--after" ]
}

@test "zsh offers every option of the table" {
    need_zsh
    local name kind
    run -0 zsh_complete 'poolrun -'
    while read -r name kind; do
        [[ $'\n'$output$'\n' == *$'\n'"$name"$'\n'* ]] || {
            echo "zsh does not complete $name (cmd/options.c)" >&2
            return 1
        }
    done < <(table_options)
}

@test "cmake --install puts the completions where bash and zsh look" {
    local build
    build=$(dirname "$POOLRUN")
    [ -e "$build/cmake_install.cmake" ] || skip "$POOLRUN is not in a CMake build directory"
    run -0 cmake --install "$build" --prefix "$BATS_TEST_TMPDIR/p"
    cmp "$BASH_COMP" p/share/bash-completion/completions/poolrun
    cmp "$ZSH_DIR/_poolrun" p/share/zsh/vendor-completions/_poolrun
    [ -x p/bin/poolrun ]
    run -0 gzip -dc p/share/man/man1/poolrun.1.gz
    [ "$output" = "$(cat "$PR_SRC/man/poolrun.1")" ]
}
