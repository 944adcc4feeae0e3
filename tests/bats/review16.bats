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
