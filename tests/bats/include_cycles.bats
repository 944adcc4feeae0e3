#!/usr/bin/env bats
# .ci/include-cycles: modules of lib/ and cmd/ that include each other.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
    check="$PR_SRC/.ci/include-cycles"
    mkdir -p tree/lib tree/cmd
}

# src FILE INCLUDED...: writes tree/FILE, including each INCLUDED header.
src() {
    local file=$1 h
    shift
    : >"tree/$file"
    for h in "$@"; do
        printf '#include "%s"\n' "$h" >>"tree/$file"
    done
}

@test "modules that include each other in a ring are refused, the ring named in order" {
    src lib/a.h b.h
    src lib/a.c a.h
    src lib/b.h
    src lib/b.c b.h c.h
    src lib/c.h a.h
    run -1 "$check" tree
    [ "$output" = "include cycle: a -> b -> c -> a" ]
}

@test "a cycle made only by the .c files is found" {
    src lib/a.h
    src lib/a.c a.h b.h
    src lib/b.h
    src lib/b.c b.h a.h
    run -1 "$check" tree
    [ "$output" = "include cycle: a -> b -> a" ]
}

@test "two cycles through one module are named once each, from their first name" {
    src lib/a.h b.h
    src lib/b.h a.h c.h
    src lib/c.h b.h
    src lib/c.c c.h
    run -1 "$check" tree
    [ "$output" = $'include cycle: a -> b -> a\ninclude cycle: b -> c -> b' ]
}

@test "a cycle inside cmd/ is found, its headers found beside the file first" {
    src lib/util.h
    src cmd/main.c opts.h
    src cmd/opts.h util.h help.h
    src cmd/help.h opts.h
    run -1 "$check" tree
    [ "$output" = "include cycle: help -> opts -> help" ]
}

@test "a module split over files by a private header A_int.h is one module, not a cycle" {
    src lib/a.h
    src lib/a_int.h a.h b.h
    src lib/a.c a_int.h
    src lib/a_run.c a_int.h
    src lib/b.h
    src lib/b.c b.h
    run -0 "$check" tree
    [ "$output" = "" ]
}

@test "a cycle through a split module's private header is still found" {
    src lib/a.h
    src lib/a_int.h a.h
    src lib/a.c a_int.h
    src lib/a_run.c a_int.h b.h
    src lib/b.h
    src lib/b.c b.h a_int.h
    run -1 "$check" tree
    [ "$output" = "include cycle: a -> b -> a" ]
}

@test "an acyclic tree passes silently: own headers, a diamond, cmd on lib, system headers" {
    src lib/util.h
    src lib/util.c util.h
    src lib/left.h util.h
    src lib/right.h util.h
    src lib/top.h left.h right.h
    src lib/top.c top.h util.h missing.h
    printf '#include <stdio.h>\n' >>tree/lib/top.c
    src cmd/main.c top.h opts.h
    src cmd/opts.h util.h
    src cmd/opts.c opts.h
    run -0 "$check" tree
    [ -z "$output" ]
}

@test "a copy of poolrun's tree with task and output including each other again is refused" {
    rm -r tree
    mkdir tree
    cp -r "$PR_SRC/lib" "$PR_SRC/cmd" tree/
    echo '#include "output.h"' >>tree/lib/task.h
    echo '#include "task.h"' >>tree/lib/output.h
    run -1 "$check" tree
    [[ $output == *"include cycle: output -> task -> output"* ]]
}

@test "without an argument it checks the tree the script is in" {
    src lib/a.h b.h
    src lib/b.h a.h
    mkdir tree/.ci
    cp "$check" tree/.ci/
    run -1 tree/.ci/include-cycles
    [ "$output" = "include cycle: a -> b -> a" ]
}

@test "a folder without lib/ is an error, not a pass" {
    run -2 "$check" "$BATS_TEST_TMPDIR/nothing"
    [[ $output == *"has no lib/ folder"* ]]
}
