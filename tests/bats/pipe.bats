#!/usr/bin/env bats
# --pipe: stdin cut into blocks of whole records, one block on each task's
# stdin.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
}

# The producer is blocked writing into a full pipe, or has written it all.
blocked_or_done() {
    grep -q pipe_write "/proc/$1/wchan" 2>/dev/null || [ -e producer-done ]
}

# Each block's bytes, in block.1, block.2...
save_blocks() {
    "$POOLRUN" --pipe "$@" sh -c 'cat > block.$POOLRUN_SEQ'
}

@test "the line counts of the blocks add up to the input's" {
    seq 1000000 | poolrun --pipe --block 100k wc -l >counts
    [ "$(awk '{s += $1} END {print s}' counts)" = 1000000 ]
    [ "$(wc -l <counts)" -gt 50 ]
}

@test "no record is split across blocks and no block is over --block" {
    seq 5000 >in
    save_blocks --block 1000 <in
    n=$(ls block.* | wc -l)
    [ "$n" -gt 20 ]
    for i in $(seq "$n"); do
        # $(...) drops a last newline: nothing is left of a whole record.
        [ -z "$(tail -c 1 "block.$i")" ]
    done
    [ "$(stat -c %s block.* | sort -n | tail -n 1)" -le 1000 ]
    for i in $(seq "$n"); do cat "block.$i"; done >joined
    cmp in joined
}

@test "a block takes as many whole records as fit in --block" {
    printf 'a\nb\nc\nd\n' | save_blocks --block 5
    [ "$(cat block.1)" = "$(printf 'a\nb')" ]
    [ "$(cat block.2)" = "$(printf 'c\nd')" ]
    [ ! -e block.3 ]
}

@test "-k prints the blocks' output in input order" {
    seq 30000 >in
    # Every third block is slow, so that later ones end first.
    poolrun --pipe --block 4k -k -j 4 \
        sh -c '[ $((POOLRUN_SEQ % 3)) != 1 ] || sleep 0.1; cat' <in >out
    cmp in out
}

@test "{#} is the block number and no item is appended" {
    seq 6 | poolrun --pipe --block 4 -k echo 'block {#}' >out
    [ "$(cat out)" = "$(printf 'block 1\nblock 2\nblock 3')" ]
}

@test "-0 cuts the blocks after NUL bytes, not newlines" {
    printf 'a\nb\0c\0d' | save_blocks -0 --block 2
    printf 'a\nb\0' >want.1
    printf 'c\0' >want.2
    printf 'd' >want.3
    cmp want.1 block.1
    cmp want.2 block.2
    cmp want.3 block.3
}

@test "--recend takes a string and the escapes \\n, \\t, \\0 and \\\\" {
    printf 'a--b--c' | save_blocks --recend -- --block 1
    [ "$(cat block.1)" = a-- ]
    [ "$(cat block.2)" = b-- ]
    [ "$(cat block.3)" = c ]
    rm block.*
    printf 'a\tb\tc' | save_blocks --recend '\t' --block 1
    [ "$(cat block.2)" = "$(printf 'b\t')" ]
}

@test "a record longer than --block is a block of its own, whole" {
    { echo x; printf '%05000d\n' 0; echo y; } >in
    poolrun --pipe --block 100 -k wc -c <in >out
    [ "$(echo $(cat out))" = "2 5001 2" ]
}

@test "the last block needs no record end" {
    printf 'a\nb' | save_blocks --block 2
    [ "$(cat block.2)" = b ]
    [ "$(wc -c <block.2)" -eq 1 ]
}

@test "empty stdin runs no task and exits 0" {
    run -0 --separate-stderr poolrun --pipe --joblog log echo ran </dev/null
    [ -z "$output" ]
    [ -z "$stderr" ]
    [ "$(wc -l <log)" -eq 1 ]
}

@test "a directory on stdin is an error that names stdin" {
    run -255 --separate-stderr poolrun --pipe wc -l </
    [ "$stderr" = "poolrun: stdin: is a directory" ]
    [ -z "$output" ]
}

@test "a task that exits without reading its block does not stop poolrun" {
    seq 200000 >in
    save_blocks --block 100k <in
    for i in $(seq "$(ls block.* | wc -l)"); do head -n 1 "block.$i"; done >want
    run -0 --separate-stderr poolrun --pipe --block 100k -k head -n 1 <in
    [ "$output" = "$(cat want)" ]
    [ "$(wc -l <want)" -gt 10 ]
    [ -z "$stderr" ]
}

@test "a task that exits without reading is recorded with its own status" {
    seq 200000 >in
    run poolrun --pipe --block 100k --joblog log sh -c 'exit 3' <in
    [ "$(joblog_rows log | cut -f 7 | sort -u)" = 3 ]
    [ "$(joblog_rows log | wc -l)" -gt 10 ]
    [ "$status" -eq "$(joblog_rows log | wc -l)" ]
}

@test "a retry gets the same block again" {
    printf 'a\nbb\n' >in
    run -2 poolrun --pipe --block 2 --retries 1 --results res.jsonl \
        sh -c 'wc -c; exit 1' <in
    [ "$(jq -r '[.seq, .attempt, .stdout] | @tsv' res.jsonl | sort)" = \
      "$(printf '1\t1\t2\\n\n1\t2\t2\\n\n2\t1\t3\\n\n2\t2\t3\\n')" ]
}

@test "--halt stops the reading of stdin" {
    seq 100000 >in
    run -1 --separate-stderr poolrun --pipe --block 10k -j 1 \
        --halt now,fail=1 --joblog log sh -c 'exit 1' <in
    [ "$(joblog_rows log | wc -l)" -eq 1 ]
}

@test "a task that never reads its block ends at its timeout" {
    # More than a pipe holds: the write is still waiting at the timeout.
    seq 500000 >in
    run -1 --separate-stderr poolrun --pipe --block 4M --timeout 0.5 \
        --results res.jsonl sleep 30 <in
    [ "$(jq -r .status res.jsonl)" = timeout ]
}

@test "reading stops while the queue is full" {
    mkfifo in gate
    python3 -c '
import sys
sys.stdout.write("0123456789abcdef\n" * 20000)
sys.stdout.flush()
open("producer-done", "w").close()' >in &
    producer=$!
    # The first task waits at the gate: one block runs, one is queued.
    "$POOLRUN" --pipe --block 4k -j 1 --queue-size 1 \
        sh -c '[ "$POOLRUN_SEQ" != 1 ] || read x <gate; wc -l' <in >out &
    pid=$!
    wait_for 20 blocked_or_done "$producer"
    [ ! -e producer-done ]
    echo go >gate
    wait_status "$pid" 0
    wait "$producer"
    [ "$(awk '{s += $1} END {print s}' out)" = 20000 ]
}

@test "memory stays far below a 200 MB stdin from a pipe" {
    [ -z "${PR_SANITIZED:-}" ] || skip "sanitizers change the memory used"
    [ -x /usr/bin/time ] || skip "GNU time is not installed"
    head -c 200000000 /dev/zero | tr '\0' '\n' |
        /usr/bin/time -f %M -o rss "$POOLRUN" --pipe --block 1M -j 2 wc -l \
        >out
    [ "$(awk '{s += $1} END {print s}' out)" = 200000000 ]
    # Kilobytes: about (jobs + queue + 1) blocks, not the input (8 MB
    # here; a queue of 1024 blocks, the default without --pipe, 48 MB).
    [ "$(tail -n 1 rss)" -lt 25000 ]
}

# The blocks' sizes in order, for the same input from a pipe and from the
# file itself: a file's blocks are found by reading windows near each cut
# (64 KiB), a pipe's in the bytes read, and the cuts must agree.
same_cuts() {
    cat in | "$POOLRUN" --pipe -k "$@" wc -c >from-pipe
    "$POOLRUN" --pipe -k "$@" wc -c <in >from-file
    cmp from-pipe from-file
    [ "$(awk '{s += $1} END {print s}' from-file)" = "$(stat -c %s in)" ]
}

@test "a file on stdin is cut where a pipe of it is" {
    seq 300000 >in
    same_cuts --block 100k
    [ "$(wc -l <from-file)" -gt 15 ]
    same_cuts --block 65537
    seq 300 >in
    same_cuts --block 1
}

@test "a file's records longer than the block and than 64 KiB cut as a pipe's" {
    python3 -c '
import random, sys
random.seed(7)
out = []
for i in range(60):
    out.append("x" * random.choice([1, 900, 70000, 140000, 200001]) + "\n")
sys.stdout.write("".join(out) + "tail without an end")' >in
    same_cuts --block 10k
    same_cuts --block 100k
    same_cuts --block 1M
}

@test "a file's multi-byte record ends across 64 KiB windows cut as a pipe's" {
    # Records of random lengths end with "<>": some ends straddle the
    # windows that the cuts of a file are searched in.
    python3 -c '
import random, sys
random.seed(11)
sys.stdout.write("".join("<" * random.randint(0, 90000) + "<>"
                         for _ in range(80)))' >in
    same_cuts --block 100k --recend '<>'
    same_cuts --block 65536 --recend '<>'
    head -c 300000 in >short
    mv short in
    same_cuts --block 1 --recend '<>'
}

@test "a file's blocks start at stdin's offset" {
    seq 1000 >in
    # bash's read leaves a seekable stdin just past the line it read.
    { read -r first; poolrun --pipe -k --block 1k cat; cat; } <in >out
    seq 2 1000 >want
    cmp want out
}

@test "a file on stdin is spliced: poolrun itself reads a small part of it" {
    command -v strace >/dev/null || skip "strace is not installed"
    head -c 20000000 /dev/zero | tr '\0' '\n' >in
    # poolrun's own reads (not its tasks'): the windows near each cut.
    # LeakSanitizer cannot run under ptrace.
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -o trace -e trace=read,pread64 -e quiet=all \
        "$POOLRUN" --pipe --block 1M wc -l <in >out
    [ "$(awk '{s += $1} END {print s}' out)" = 20000000 ]
    read_bytes=$(sed -n 's/.*= \([0-9][0-9]*\)$/\1/p' trace |
        awk '{s += $1} END {print s + 0}')
    [ "$read_bytes" -lt 2000000 ]
}

@test "--pipepart -a FILE and :::: FILE cut the file as --pipe < FILE does" {
    seq 200000 >in
    poolrun --pipe -k --block 100k wc -c <in >want
    poolrun --pipepart -k --block 100k -a in wc -c >got
    cmp want got
    poolrun --pipe-part -k --block 100k wc -c :::: in >got2
    cmp want got2
    [ "$(wc -l <want)" -gt 5 ]
}

@test "--pipepart wants exactly one file, and names a missing one" {
    run -255 poolrun --pipepart wc -l
    [[ $output == "poolrun: --pipepart needs one file to cut: -a FILE or :::: FILE"* ]]
    run -255 poolrun --pipepart -a a -a b wc -l
    [[ $output == "poolrun: --pipepart needs one file to cut"* ]]
    run -255 poolrun --pipepart wc -l ::: a b
    [[ $output == "poolrun: --pipepart needs one file to cut"* ]]
    run -255 poolrun --pipepart -a missing wc -l
    [ "$output" = "poolrun: -a missing: no such file or directory" ]
    run -255 poolrun --pipepart -a . wc -l
    [ "$output" = "poolrun: -a .: is a directory" ]
}

@test "--pipepart's line counts add up as GNU parallel's do (differential)" {
    command -v parallel >/dev/null || skip "GNU parallel is not installed"
    seq 300000 >in
    parallel --will-cite --pipepart -a in --block 100k wc -l >theirs
    poolrun --pipepart -a in --block 100k wc -l >ours
    [ "$(awk '{s += $1} END {print s}' ours)" = \
      "$(awk '{s += $1} END {print s}' theirs)" ]
}

@test "memory stays small with a 200 MB file on stdin" {
    [ -z "${PR_SANITIZED:-}" ] || skip "sanitizers change the memory used"
    [ -x /usr/bin/time ] || skip "GNU time is not installed"
    head -c 200000000 /dev/zero | tr '\0' '\n' >in
    /usr/bin/time -f %M -o rss "$POOLRUN" --pipe --block 1M -j 2 wc -l \
        <in >out
    [ "$(awk '{s += $1} END {print s}' out)" = 200000000 ]
    # Kilobytes: no block is held in poolrun at all.
    [ "$(tail -n 1 rss)" -lt 8000 ]
}

@test "a hostile block is data: NUL bytes and \$(...) never run as code" {
    printf 'a $(touch pwned) `touch pwned2`\n\0;rm -rf x\n"; touch pwned3\n' >in
    poolrun --pipe cat <in >out
    cmp in out
    poolrun --pipe 'cat; echo "{#}"' <in >out2
    [ "$(tail -n 1 out2)" = 1 ]
    [ ! -e pwned ]
    [ ! -e pwned2 ]
    [ ! -e pwned3 ]
}

@test "--pipe is refused with what it cannot be combined with" {
    echo a >f
    run -255 poolrun --pipe echo ::: a b
    [[ $output == *"--pipe"*":::"* ]]
    run -255 poolrun --pipe --workers cat
    [[ $output == *"--workers"* ]]
    run -255 poolrun --pipe -f jobs.json
    [[ $output == *"-f"* ]]
    run -255 poolrun --pipe -a f wc
    [[ $output == *"-a"* ]]
    run -255 poolrun --pipe
    [[ $output == *"needs a COMMAND"* ]]
    run -255 poolrun --pipe -n 2 wc
    [[ $output == *"-n: not supported with --pipe"* ]]
    run -255 poolrun --pipe -d x wc
    [[ $output == *"--recend"* ]]
}

@test "--block and --recend without --pipe, and --recstart, are refused" {
    run -255 poolrun --block 1M echo
    [[ $output == "poolrun: --block and --recend need --pipe"* ]]
    run -255 poolrun --recend x echo
    [[ $output == "poolrun: --block and --recend need --pipe"* ]]
    run -255 poolrun --pipe --recstart x wc
    [[ $output == "poolrun: --recstart: not supported"* ]]
    run -255 poolrun --pipe --recend '' wc
    [[ $output == "poolrun: --recend: needs a string"* ]]
}

@test "poolrun submit refuses --pipe rather than queue tasks without stdin" {
    export XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
    mkdir -m 700 "$XDG_RUNTIME_DIR"
    run -255 poolrun submit --pipe wc -l </dev/null
    [[ $output == "poolrun: submit: "*"--pipe"* ]]
    [ ! -e "$XDG_RUNTIME_DIR/poolrun" ]
}

# differ ARGS...: GNU parallel --pipe and poolrun --pipe with ARGS, on the
# file in, give the same output.
differ() {
    parallel --will-cite --pipe "$@" <in >want 2>/dev/null
    poolrun --pipe "$@" <in >got
    diff want got
}

# GNU parallel starts a job slowly: a few blocks per case.
@test "the blocks of a file match GNU parallel --pipe's (differential)" {
    command -v parallel >/dev/null || skip "GNU parallel is not installed"
    seq 10000 >in
    differ -k --block 10000 wc -l
}

@test "{#} and -j match GNU parallel --pipe's (differential)" {
    command -v parallel >/dev/null || skip "GNU parallel is not installed"
    seq 3000 >in
    differ -k --block 3000 'echo {#}; wc -c'
    differ -k -j 3 --block 5000 cat
}

@test "--recend and empty input match GNU parallel --pipe's (differential)" {
    command -v parallel >/dev/null || skip "GNU parallel is not installed"
    printf 'aXbbXcccX\nd' >in
    differ -k --recend X --block 3 'cat; echo'
    : >in
    differ -k echo ran
}
