#!/usr/bin/env bash
# findutils_cases.sh DATA POOLRUN: runs every applicable case of DATA/cases
# (GNU findutils's xargs testsuite, mapped to poolrun's options: see its
# header) with POOLRUN, from a scratch folder it makes, and compares the
# output with DATA/expected/CASE.xo (none there: no output) and the status
# with the case's rc.  A case agrees when both do: the output byte for
# byte, and the status 0 for 0, or 1-101 (that many tasks failed) for
# xargs's 123-127 (a command failed).
#
# Cases named in KNOWN differ from xargs by design (the man page says so):
# each is reported with its note; its status must agree and its output
# still differ (a case that starts to agree is taken off the list).  Prints a line per case that does not
# agree as expected and a closing count; exits 0 when every other
# applicable case agrees.
set -u
data=$(cd "$1" && pwd) || exit 2
poolrun=$(command -v "$2") || exit 2
case $poolrun in /*) ;; *) poolrun=$PWD/$poolrun ;; esac
KNOWN=" xargs.gnu/E_-0 xargs.posix/rc-124 xargs.posix/rc-125 "

work=$(mktemp -d "${TMPDIR:-/tmp}/findutils.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT

applicable=0 agree=0 by_design=0 na=0 bad=0

# status_agrees WANT GOT
status_agrees() {
    if [ "$1" -eq 0 ]; then
        [ "$2" -eq 0 ]
    elif [ "$1" -ge 123 ] && [ "$1" -le 127 ]; then
        [ "$2" -ge 1 ] && [ "$2" -le 101 ]
    else
        [ "$2" -eq "$1" ]
    fi
}

# run_case: runs the case held in the variables below; sets got_rc and
# leaves the output in $work/out.
run_case() {
    local input=/dev/null q
    [ "$in" = none ] || input=$data/inputs/$in
    got_rc=0
    if [ -n "$psh" ]; then
        q=$(printf '%q' "$poolrun")
        (cd "$work/cwd" && bash -c "${psh//@POOLRUN@/$q}") <"$input" \
            >"$work/out" 2>"$work/err" || got_rc=$?
        return
    fi
    local -a popts cmdw jopts=(-k -j 1)
    eval "popts=($pool)"
    eval "cmdw=($cmd)"
    [ -z "$jobs" ] || jopts=(-j "$jobs")
    (cd "$work/cwd" && "$poolrun" "${jopts[@]}" "${popts[@]}" -- "${cmdw[@]}") \
        <"$input" >"$work/out" 2>"$work/err" || got_rc=$?
}

# finish_case: judges the case read so far, if there is one.
finish_case() {
    local expected ok=1 status_ok=1
    [ -n "$name" ] || return 0
    if [ -n "$na_why" ]; then
        na=$((na + 1))
        return 0
    fi
    applicable=$((applicable + 1))
    rm -rf "$work/cwd"
    mkdir "$work/cwd"
    run_case
    expected=$data/expected/$name.xo
    [ -e "$expected" ] || expected=/dev/null
    cmp -s "$expected" "$work/out" || ok=0
    status_agrees "$rc" "$got_rc" || status_ok=0
    [ "$status_ok" -eq 1 ] || ok=0
    if [[ $KNOWN == *" $name "* ]]; then
        if [ "$ok" -eq 1 ] || [ "$status_ok" -eq 0 ]; then
            echo "$name: status $got_rc (upstream $rc), output" \
                "$([ "$ok" -eq 1 ] && echo agrees || echo differs):" \
                "listed as differing by design in its output only"
            bad=$((bad + 1))
        else
            echo "$name: differs by design: $note"
            by_design=$((by_design + 1))
        fi
    elif [ "$ok" -eq 1 ]; then
        agree=$((agree + 1))
    else
        echo "$name: DISAGREES (status $got_rc, upstream $rc)${note:+: $note}"
        diff "$expected" "$work/out" | head -20 | sed 's/^/    /'
        head -5 "$work/err" | sed 's/^/    stderr: /'
        bad=$((bad + 1))
    fi
}

name=""
while IFS= read -r line || [ -n "$line" ]; do
    case $line in
    "#"* | "") continue ;;
    "== "*)
        finish_case
        name=${line#== }
        in=none rc=0 pool="" cmd="" jobs="" psh="" na_why="" note=""
        ;;
    "in: "*) in=${line#in: } ;;
    "rc: "*) rc=${line#rc: } ;;
    "pool:"*) pool=${line#pool:} ;;
    "cmd: "*) cmd=${line#cmd: } ;;
    "jobs: "*) jobs=${line#jobs: } ;;
    "psh: "*) psh=${line#psh: } ;;
    "na: "*) na_why=${line#na: } ;;
    "note: "*) note=${line#note: } ;;
    esac
done <"$data/cases"
finish_case

echo "findutils: $agree of $applicable applicable cases agree with upstream;" \
    "$by_design differ by design; $na not applicable"
[ "$bad" -eq 0 ]
