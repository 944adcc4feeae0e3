#!/usr/bin/env bats
# GNU parallel's and xargs's habits (issue 16): -j +N / -N, -P, --dryrun,
# -t, --joblog - and +FILE, --timeout N% and 0, sizes, -E on a seekable
# stdin, a terminal as input, --results DIR/.  Differential tests run the
# same command line with parallel or xargs where they share the form.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
}

# have_parallel: GNU parallel is installed (else the test is skipped).
have_parallel() {
    command -v parallel >/dev/null || skip "GNU parallel is not installed"
}

# barrier_lines N: N shell lines that each wait until all N have started
# (at most 10 s), then print their slot; they can only all succeed if N run
# at once.
barrier_lines() {
    seq "$1" | sed "s/.*/touch s.\$POOLRUN_SEQ; i=0; while [ \$(ls s.* | wc -l) -lt $1 ] \&\& [ \$i -lt 1000 ]; do sleep 0.01; i=\$((i+1)); done; [ \$i -lt 1000 ]; echo \$POOLRUN_SLOT/"
}

@test "-j +1 runs one task more than there are CPUs at once" {
    n=$(($(nproc) + 1))
    barrier_lines "$n" >lines
    run -0 poolrun -j +1 <lines
    [ "$(sort -un <<<"$output" | tail -1)" -eq "$n" ]
}

@test "-j -1 runs one task fewer than there are CPUs, and at least one" {
    want=$(($(nproc) - 1))
    [ "$want" -ge 1 ] || want=1
    seq 20 | sed 's/.*/echo $POOLRUN_SLOT/' >lines
    run -0 poolrun -j -1 <lines
    [ "$(sort -un <<<"$output" | tail -1)" -le "$want" ]
    run -0 poolrun --jobs=-1000 <lines
    [ "$(sort -u <<<"$output")" = 1 ]
}

@test "-j with a sign that is not followed by a number is refused" {
    run -255 --separate-stderr poolrun -j +-1 echo ::: a
    [ "${stderr_lines[0]}" = "poolrun: -j: '+-1' is not a number of jobs (+N or -N: the CPUs plus or minus N)" ]
    run -255 --separate-stderr poolrun -j - echo ::: a
    [[ ${stderr_lines[0]} == "poolrun: -j: '-' is not a number of jobs"* ]]
}

@test "-P N is xargs's spelling of -j N" {
    barrier_lines 3 >lines
    run -0 poolrun -P 3 <lines
    [ "$(sort -un <<<"$output" | tail -1)" -eq 3 ]
    seq 5 | sed 's/.*/echo $POOLRUN_SLOT/' >lines
    run -0 poolrun -P1 <lines
    [ "$(sort -u <<<"$output")" = 1 ]
}

@test "--dryrun is a second spelling of --dry-run" {
    run -0 poolrun -k --dryrun echo ::: a 'b c'
    [ "$output" = "$(poolrun -k --dry-run echo ::: a 'b c')" ]
    [ "${lines[1]}" = "echo 'b c'" ]
}

@test "-t prints each command on stderr as it starts, one line per task" {
    run -0 --separate-stderr poolrun -j 1 -k -t echo ::: a 'b c' '$(touch pwned)'
    [ "${#stderr_lines[@]}" -eq 3 ]
    [ "${stderr_lines[0]}" = "echo a" ]
    [ "${stderr_lines[1]}" = "echo 'b c'" ]
    [ "${stderr_lines[2]}" = "echo '\$(touch pwned)'" ]
    [ ! -e pwned ]
    [ "${lines[2]}" = '$(touch pwned)' ]
}

@test "-t prints the shell line of a task that runs through the shell" {
    printf 'echo one | tr o 0\n' >lines
    run -0 --separate-stderr poolrun --verbose <lines
    [ "$stderr" = "echo one | tr o 0" ]
    [ "$output" = "0ne" ]
}

@test "-t shows a newline in an item as \\n, keeping one line per task" {
    printf 'a\nb\0-x\0' >items
    run -0 --separate-stderr poolrun -0 -j 1 -k -t echo <items
    [ "${#stderr_lines[@]}" -eq 2 ]
    [ "${stderr_lines[0]}" = "echo 'a\\nb'" ]
    [ "${stderr_lines[1]}" = "echo -x" ]
}

@test "without -t nothing is printed on stderr" {
    run -0 --separate-stderr poolrun -k echo ::: a b
    [ -z "$stderr" ]
}

@test "-t prints what xargs -t prints, on stderr and stdout" {
    printf 'a\nb\nc-d\n' >items
    xargs -t -n 1 echo <items >xargs.out 2>xargs.err
    poolrun -j 1 -k -t echo <items >poolrun.out 2>poolrun.err
    diff xargs.out poolrun.out
    diff xargs.err poolrun.err
}

@test "-t prints what parallel -t prints" {
    have_parallel
    parallel --will-cite -j 1 -k -t echo ::: a 'b c' d >parallel.out 2>parallel.err
    poolrun -j 1 -k -t echo ::: a 'b c' d >poolrun.out 2>poolrun.err
    diff parallel.out poolrun.out
    diff parallel.err poolrun.err
}
