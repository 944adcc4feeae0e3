#!/usr/bin/env bats
# Hostile input: directories and unreadable inputs, time values out of
# range, endless lines, and the odd corners of -a, --json and job files.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
}

# --- time values: one range, whatever their source -------------------------

@test "a job file's timeout past the range of time values is refused before anything runs" {
    echo '{"tasks":[{"cmd":"touch ran","timeout":1e20}]}' >jobs.json
    run -255 --separate-stderr poolrun -f jobs.json
    [ "$stderr" = "poolrun: jobs.json:1:40: tasks[0].timeout: must be a number of seconds from 0 to 1000000000" ]
    [ ! -e ran ]
}

@test "a job file's default timeout past the range is refused too" {
    echo '{"defaults":{"timeout":1e10},"tasks":[{"cmd":"touch ran"}]}' >jobs.json
    run -255 --separate-stderr poolrun -f jobs.json
    [ "$stderr" = "poolrun: jobs.json:1:24: defaults.timeout: must be a number of seconds from 0 to 1000000000" ]
    [ ! -e ran ]
}

@test "a --json task's timeout past the range is refused" {
    run -255 --separate-stderr poolrun --json <<<'{"cmd":"touch ran","timeout":1e20}'
    [ "$stderr" = "poolrun: <stdin>:1:30: timeout: must be a number of seconds from 0 to 1000000000" ]
    [ ! -e ran ]
}

@test "the longest timeout allowed does not end a task early" {
    echo '{"tasks":[{"cmd":"sleep 0.3; echo hi","timeout":1000000000}]}' >jobs.json
    run -0 --separate-stderr poolrun -f jobs.json
    [ "$output" = hi ]
    [ -z "$stderr" ]
}

@test "every time option has the same range, with its own message" {
    local opt
    for opt in --kill-after --delay --grace; do
        run -255 --separate-stderr poolrun "$opt" 1e20 true
        [ "$stderr" = "poolrun: $opt: '1e20' is not a number of seconds (0 to 1000000000)"$'\n'"Try 'poolrun --help'." ]
    done
    run -255 --separate-stderr poolrun --timeout nan true
    [ "${stderr_lines[0]}" = "poolrun: --timeout: 'nan' is not a number of seconds above 0 (at most 1000000000)" ]
    run -255 --separate-stderr poolrun --retry-delay 1e10x2 true
    [ "${stderr_lines[0]}" = "poolrun: --retry-delay: '1e10x2' is not SECS or SECSxFACTOR (SECS 0 to 1000000000, FACTOR 1 to 1000)" ]
}
