# bash completion for poolrun(1).  Installed as
# share/bash-completion/completions/poolrun; works without the
# bash-completion package too (source it).  The option lists follow
# cmd/options.c's table (tests/bats/completion.bats fails when they drift).

# The one-shot command's options: those that take a value, and flags.
_poolrun_opts_arg='-a --arg-file --colsep --header -d --delimiter
    -n --max-args -E --sentinel -I --replace -f --file --block --block-size
    --recend -j -P --jobs --queue-size --order --timeout --kill-after
    --retries --retry-on --retry-delay --halt --delay --memfree --load
    --workers --protocol --inflight --worker-init --worker-sentinel --grace
    --max-tasks-per-worker --tagstring --buffer-size --on-done --on-fail
    --on-join --joblog --results --results-limit --exit-status'
_poolrun_opts_flag='--link -0 --null -r --no-run-if-empty --shell --json
    --pipe --spreadstdin --pipepart --pipe-part --dry-run --dryrun -t
    --verbose --daemon
    -k --keep-order --line-buffer --lb -u --ungroup --tag --resume
    --resume-failed --summary --progress --bar --eta -h --help -V --version'

# The verbs of the queue service (cmd/verbs.c), and report.
_poolrun_verbs='serve submit status join wait log cancel resume close
    shutdown worker report'

# Each verb's own options: "VERB:ARGOPTS:FLAGS" (serve and worker take the
# one-shot options as well).
_poolrun_redis='--queue --password-file --redis-timeout'
_poolrun_verb_opts() {
    case $1 in
    serve) _poolrun_va='--state' _poolrun_vf='--start-paused' ;;
    submit)
        _poolrun_va="$_poolrun_redis --id --after --timeout --retries
            --retry-on --on-done --on-fail --env --cwd --priority -j --jobs
            -f -a --arg-file -d --delimiter -n --max-args -E --sentinel
            -I --replace"
        _poolrun_vf='--wait --json -0 --null -r --no-run-if-empty --shell' ;;
    status) _poolrun_va=$_poolrun_redis _poolrun_vf='--json' ;;
    join) _poolrun_va="$_poolrun_redis --timeout --results" _poolrun_vf='' ;;
    wait) _poolrun_va='--timeout' _poolrun_vf='' ;;
    log) _poolrun_va='' _poolrun_vf='-f --follow' ;;
    cancel | close) _poolrun_va=$_poolrun_redis _poolrun_vf='' ;;
    resume) _poolrun_va='--queue' _poolrun_vf='' ;;
    shutdown) _poolrun_va='' _poolrun_vf='--drain' ;;
    worker)
        _poolrun_va="$_poolrun_redis --node --lease --renew --block
            --attempts"
        _poolrun_vf='' ;;
    report) _poolrun_va='-o' _poolrun_vf='' ;;
    *) _poolrun_va='' _poolrun_vf='' ;;
    esac
    _poolrun_vf+=' -h --help'
}

# _poolrun_takes OPT ARGOPTS: OPT is one of the words of ARGOPTS.
_poolrun_takes() {
    [[ " ${2//$'\n'/ } " == *" $1 "* ]]
}

# Files (and folders) for a value or an argument, kept whole when a name
# has spaces: -o filenames lets readline quote them.
_poolrun_files() {
    local IFS=$'\n'
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$1"))
}

_poolrun_dirs() {
    local IFS=$'\n'
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -d -- "$1"))
}

_poolrun_words() {
    local IFS=$' \t\n'
    COMPREPLY=($(compgen -W "$1" -- "$2"))
}

# The value of option $1, being typed as $2.
_poolrun_value() {
    local opt=$1 cur=$2 pre
    case $opt in
    -a | --arg-file | -f | --file | --joblog | --results | --password-file \
        | -o)
        _poolrun_files "${cur#+}"
        # --joblog +FILE appends: keep the + in front.
        if [[ $cur == +* && $opt == --joblog ]]; then
            COMPREPLY=("${COMPREPLY[@]/#/+}")
        fi ;;
    --cwd | --state) _poolrun_dirs "$cur" ;;
    --workers | --on-done | --on-fail | --on-join)
        COMPREPLY=($(compgen -c -- "$cur")) ;;
    --order) _poolrun_words 'fifo lifo priority' "$cur" ;;
    --protocol) _poolrun_words 'line json' "$cur" ;;
    --exit-status) _poolrun_words 'count first last max' "$cur" ;;
    --header) _poolrun_words ':' "$cur" ;;
    --halt)
        # WHEN,ON=N, or never, 1 (soon,fail=1), 2 (now,fail=1).
        if [[ $cur == *,* ]]; then
            pre=${cur%%,*}
            _poolrun_words "$pre,fail= $pre,success= $pre,done=" "$cur"
        else
            _poolrun_words 'never 1 2 now, soon,' "$cur"
        fi
        [[ ${COMPREPLY[*]} == *[,=] ]] && compopt -o nospace 2>/dev/null ;;
    --retry-on)
        # A comma-separated list: complete its last element.
        pre=
        [[ $cur == *,* ]] && pre=${cur%,*},
        _poolrun_words "timeout $(compgen -A signal)" "${cur##*,}"
        COMPREPLY=("${COMPREPLY[@]/#/$pre}") ;;
    *) COMPREPLY=() ;; # a number, a size, a string: nothing to offer
    esac
    return 0
}

# _poolrun_scan FROM ARGOPTS: walks COMP_WORDS from FROM to the word being
# completed; sets _poolrun_want to "value OPT" (that word is OPT's value),
# or "arg N" (the Nth word that is not an option, counting from 1), and
# _poolrun_first to the first such word (COMMAND); after "--" every word is
# one.
_poolrun_scan() {
    local i=$1 args=$2 w n=0 k c
    _poolrun_want= _poolrun_first= _poolrun_dashdash=
    while ((i < COMP_CWORD)); do
        w=${COMP_WORDS[i]}
        if ((n > 0)); then
            : # COMMAND's words: its arguments, ::: items, :::: files
        elif [[ $w == -- ]]; then
            _poolrun_dashdash=1
        elif [[ $_poolrun_dashdash == 1 ]]; then
            _poolrun_first=$w
            ((n++))
        elif [[ $w == --*=* ]]; then
            :
        elif [[ $w == --?* ]]; then
            if _poolrun_takes "$w" "$args"; then
                # --opt=value: bash splits it at "=" (COMP_WORDBREAKS).
                [[ ${COMP_WORDS[i + 1]} == = ]] && ((i++))
                ((i + 1 == COMP_CWORD)) && _poolrun_want="value $w"
                ((i++))
            fi
        elif [[ $w == -?* ]]; then
            # Bundled short options: one that takes a value ends them, its
            # value attached or in the next word.
            for ((k = 1; k < ${#w}; k++)); do
                c=-${w:k:1}
                _poolrun_takes "$c" "$args" || continue
                if ((k + 1 == ${#w})); then
                    ((i + 1 == COMP_CWORD)) && _poolrun_want="value $c"
                    ((i++))
                fi
                break
            done
        else
            _poolrun_first=$w
            ((n++))
        fi
        ((i++))
    done
    [[ -n $_poolrun_want ]] || _poolrun_want="arg $((n + 1))"
}

_poolrun() {
    local cur=${COMP_WORDS[COMP_CWORD]} args flags verb= from=1
    local _poolrun_want _poolrun_first _poolrun_dashdash
    local _poolrun_va _poolrun_vf
    COMPREPLY=()
    args=$_poolrun_opts_arg flags=$_poolrun_opts_flag
    if ((COMP_CWORD > 1)) && _poolrun_takes "${COMP_WORDS[1]}" "$_poolrun_verbs"
    then
        verb=${COMP_WORDS[1]} from=2
        _poolrun_verb_opts "$verb"
        case $verb in
        serve | worker) args+=" $_poolrun_va" flags+=" $_poolrun_vf" ;;
        *) args=$_poolrun_va flags=$_poolrun_vf ;;
        esac
    fi
    # --opt=value split at "=": "--opt" "=" "value", the = alone while
    # nothing follows it.
    local prev=${COMP_WORDS[COMP_CWORD - 1]}
    if [[ $cur == = ]] && _poolrun_takes "$prev" "$args"; then
        _poolrun_value "$prev" ""
        return 0
    fi
    _poolrun_scan "$from" "$args"
    if [[ $_poolrun_want == value* ]]; then
        _poolrun_value "${_poolrun_want#value }" "$cur"
        return 0
    fi
    if [[ $cur == --*=* ]] && _poolrun_takes "${cur%%=*}" "$args"; then
        _poolrun_value "${cur%%=*}" "${cur#*=}"
        return 0
    fi
    if [[ -n $verb && $verb != submit ]]; then
        # Options anywhere; an argument is a queue, an id or (report's) a
        # file.
        if [[ $cur == -* ]]; then
            _poolrun_words "$args $flags" "$cur"
        elif [[ $verb == report ]]; then
            _poolrun_files "$cur"
        fi
        return 0
    fi
    if [[ -z $_poolrun_first ]]; then
        if [[ $cur == -* && $_poolrun_dashdash != 1 ]]; then
            _poolrun_words "$args $flags" "$cur"
        elif ((COMP_CWORD == 1)); then
            # A verb only as the first word; else a COMMAND.
            _poolrun_words "$_poolrun_verbs" "$cur"
            COMPREPLY+=($(compgen -c -- "$cur"))
        else
            COMPREPLY=($(compgen -c -- "$cur"))
        fi
        return 0
    fi
    # After COMMAND: its arguments, items, or files after ::::.
    _poolrun_files "$cur"
    return 0
}

complete -F _poolrun poolrun
