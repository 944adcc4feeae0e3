#!/usr/bin/env bats
# GNU findutils's xargs testsuite, run with poolrun: the data is in
# tests/peer-data/findutils (its cases file maps each upstream case to
# poolrun's options, and says what agreeing means); findutils_cases.sh runs
# the applicable ones.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
}

@test "every applicable findutils xargs case agrees with upstream, but those that differ by design" {
    run -0 "$PR_SRC/tests/bats/findutils_cases.sh" "$PR_SRC/tests/peer-data/findutils" "$POOLRUN"
    [ "${lines[-1]}" = "findutils: 31 of 34 applicable cases agree with upstream; 3 differ by design; 62 not applicable" ]
    # -E with -0 (poolrun follows GNU parallel), and xargs stopping at a
    # command that exits 255 or is killed (poolrun runs the rest).
    [ "$(grep -c ': differs by design: ' <<<"$output")" -eq 3 ]
    [[ $output == *"xargs.gnu/E_-0: differs by design: "* ]]
    [[ $output == *"xargs.posix/rc-124: differs by design: "* ]]
    [[ $output == *"xargs.posix/rc-125: differs by design: "* ]]
}

@test "the harness sees a poolrun that gets a case wrong" {
    # A poolrun that drops its last output line must fail the run: the
    # comparison is not vacuous.
    cat >fake <<FAKE
#!/bin/sh
"$POOLRUN" "\$@" | sed '\$d'
FAKE
    chmod +x fake
    run -1 "$PR_SRC/tests/bats/findutils_cases.sh" "$PR_SRC/tests/peer-data/findutils" "$PWD/fake"
    [[ $output == *"xargs.posix/n1: DISAGREES"* ]]
}
