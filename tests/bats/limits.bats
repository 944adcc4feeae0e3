#!/usr/bin/env bats
# Limits and permissions, as an unprivileged user (root would hide them).
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    [ "$(id -u)" -eq 0 ] || skip "needs root to switch to an unprivileged user"
    command -v setpriv >/dev/null || skip "setpriv is not installed"
    # A folder the unprivileged user can reach, with its own copy of poolrun
    # (the build tree may sit in a private folder).
    work=$(mktemp -d /tmp/poolrun-limits.XXXXXX)
    chmod 755 "$work"
    cp "$POOLRUN" "$work/poolrun"
    mkdir "$work/rw"
    chmod 777 "$work/rw"
    cd "$work/rw"
}

teardown() {
    [ -z "${work:-}" ] || rm -rf "$work"
}

# as_nobody SCRIPT: run SCRIPT with bash as uid/gid 65534.
as_nobody() {
    setpriv --reuid=65534 --regid=65534 --clear-groups bash -c "$1"
}

@test "at the descriptor limit, tasks wait for a free slot instead of failing" {
    seq 30 | sed 's/.*/echo task &/' >lines
    run -0 --separate-stderr as_nobody "ulimit -n 20; ../poolrun -j 8 < lines"
    [ "${#lines[@]}" -eq 30 ]
    [[ $stderr == *"cannot start another task (too many open files): running at most"* ]]
}

@test "at the process limit, tasks wait for a free slot instead of failing" {
    seq 30 | sed 's/.*/echo task &/' >lines
    # Room for the shell, poolrun and two tasks beyond what the user has.
    have=$(ps -u 65534 --no-headers | wc -l)
    run -0 --separate-stderr as_nobody "ulimit -u $((have + 4)); ../poolrun -j 8 < lines"
    [ "${#lines[@]}" -eq 30 ]
    [[ $stderr == *"resource temporarily unavailable"* ]]
}

@test "with no process to be had at all, each task is an error, none is lost" {
    seq 5 | sed 's/.*/echo task &/' >lines
    have=$(ps -u 65534 --no-headers | wc -l)
    # (In a sanitized build, LeakSanitizer's exit check needs a thread,
    # which this limit forbids; it has nothing to do with poolrun.)
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
    run -5 --separate-stderr as_nobody "ulimit -u $((have + 1)); exec ../poolrun -j 2 --joblog log < lines"
    [ "$(grep -c 'cannot start: resource temporarily unavailable' <<<"$stderr")" -eq 5 ]
    [ "$(joblog_rows log | cut -f7 | sort -u)" = -1 ]
    [ "$(joblog_rows log | wc -l)" -eq 5 ]
}

@test "a joblog the user may not write is an error before anything runs" {
    mkdir ro
    chmod 555 ro
    run -255 --separate-stderr as_nobody "echo 'touch ran' | ../poolrun --joblog ro/log"
    [[ $stderr == *"--joblog ro/log: permission denied"* ]]
    [ ! -e ran ]
}

@test "a task whose command the user may not run fails with 126" {
    printf '#!/bin/sh\necho hi\n' >private.sh
    chmod 700 private.sh
    run -1 --separate-stderr as_nobody "echo ./private.sh | ../poolrun"
    [[ $stderr == *"exit status 126"* ]]
}
