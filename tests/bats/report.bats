#!/usr/bin/env bats
# poolrun report: a finished run drawn as one HTML or SVG file, checked as
# a person would look at it (headless Chromium's screenshot) and as XML.
bats_require_minimum_version 1.5.0

setup() {
    load helpers
    cd "$BATS_TEST_TMPDIR"
    bars="$PR_SRC/tests/report/svg_bars.py"
    check_png="$PR_SRC/tests/report/check_png.py"
}

# A run whose times are known: it starts at 1000 s and lasts 10 s, on 2
# slots, so a time t is at x = 100 + 88 t, slot 1's bars lie from y = 72
# to 92 and slot 2's from 96 to 116 (lib/report_svg.h's geometry).
known_run() {
    cat >run.jsonl <<'JSON'
{"seq":1,"id":"first","command":"sleep 4","status":"ok","exit":0,"signal":null,"attempt":1,"final":true,"start":1000.000,"runtime":4.000,"slot":1,"pid":11,"stdout":"","stderr":""}
{"seq":2,"command":"make check","status":"failed","exit":1,"signal":null,"attempt":1,"final":false,"start":1000.000,"runtime":2.000,"slot":2,"pid":12,"stdout":"","stderr":"first try\n"}
{"seq":3,"id":"a&b","command":"</svg><script>alert(1)</script> & \"q\" 'x'","status":"timeout","exit":null,"signal":15,"attempt":1,"final":true,"start":1003.000,"runtime":3.000,"slot":2,"pid":13,"stdout":"<b>not bold</b>\n","stderr":""}
{"seq":4,"command":"missing-program","status":"error","exit":null,"signal":null,"attempt":1,"final":true,"error":"cannot start: no such file"}
{"seq":5,"command":"kill -9 $$","status":"killed","exit":null,"signal":9,"attempt":1,"final":true,"start":1005.000,"runtime":5.000,"slot":1,"pid":15,"stdout":"","stderr":""}
{"seq":2,"command":"make check","status":"failed","exit":3,"signal":null,"attempt":2,"final":true,"start":1007.000,"runtime":3.000,"slot":2,"pid":16,"stdout":"","stderr":"FAIL: test_x\n"}
{"seq":null,"callback":"on-fail","command":"notify","status":"ok","exit":0,"signal":null}
{"seq":6,"command":"never","status":"skipped","exit":null,"signal":null,"attempt":0,"final":true}
JSON
}

# The pixels of known_run: each bar by its status, the gaps white, and
# 6 px inside and outside the ends of bars (their starts hold their
# labels), and above and inside the top of slot 1's first bar.
known_pixels() {
    echo --varied 400,82,#009E73 496,82,white 900,82,#CC79A7 \
        250,106,#D55E00/hatch 320,106,white 600,106,#E69F00 \
        672,106,white 900,106,#D55E00 \
        446,82,#009E73 458,82,white 974,82,#CC79A7 986,82,white \
        270,106,#D55E00/hatch 282,106,white 622,106,#E69F00 634,106,white \
        974,106,#D55E00 986,106,white 400,75,#009E73 400,68,white
}

# shoot FILE PNG: headless Chromium's screenshot of FILE, 1000 x 400 px.
shoot() {
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --force-device-scale-factor=1 --window-size=1000,400 \
        --screenshot="$2" "file://$PWD/$1" >chromium.log 2>&1
}

need_chromium() {
    command -v chromium >/dev/null || skip "chromium is not installed"
    /usr/bin/python3 -c 'import PIL' 2>/dev/null ||
        skip "python3-pil is not installed"
}

@test "report's SVG, as Chromium draws it, has each bar where its times and slot put it" {
    need_chromium
    known_run
    poolrun report run.jsonl -o run.svg
    shoot run.svg run.png
    "$check_png" run.png $(known_pixels)
    # The check can fail: where a bar is, it is not white.
    run "$check_png" run.png 400,82,white
    [ "$status" -eq 1 ]
}

@test "report's HTML page, as Chromium draws it, has each bar where its times and slot put it" {
    need_chromium
    known_run
    poolrun report run.jsonl -o run.html
    shoot run.html run.png
    "$check_png" run.png $(known_pixels)
}

@test "report's SVG is well-formed XML with a bar per attempt that started, at its slot and times" {
    known_run
    poolrun report run.jsonl -o run.svg
    run "$bars" run.svg
    [ "$status" -eq 0 ]
    [[ $output == *'100.00 72.0 352.00 20 #009E73 id first, seq 1: ok'* ]]
    [[ $output == *'716.00 96.0 264.00 20 url(#k1) seq 2: failed | command: make check | exit 3, signal none | runtime 3.000 s, attempt 2, slot 2'* ]]
    [[ $output == *'100.00 96.0 176.00 20 url(#r1) seq 2: failed (retried)'* ]]
    [[ $output == *'540.00 72.0 440.00 20 url(#k3) seq 5: killed'*'signal 9 (SIGKILL)'* ]]
    [ "$(printf '%s\n' "$output" | wc -l)" -eq 5 ]
}

@test "markup and ampersands from the run stay text in the SVG" {
    known_run
    poolrun report run.jsonl -o run.svg
    run "$bars" run.svg --texts
    [ "$status" -eq 0 ]
    [[ $output == *"id a&b, seq 3: timeout | command: </svg><script>alert(1)</script> & \"q\" 'x'"* ]]
    run "$bars" run.svg --elements
    [ "$status" -eq 0 ]
    [[ $output != *script* ]]
}

@test "markup and ampersands from the run stay text in the HTML page" {
    known_run
    poolrun report run.jsonl -o run.html
    run grep -c '<script' run.html
    [ "$status" -eq 1 ]
    grep -F '&lt;/svg&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; &#39;x&#39;' run.html
    grep -F '&lt;b&gt;not bold&lt;/b&gt;' run.html
    grep -F '<td>a&amp;b</td>' run.html
}

@test "bytes that are not UTF-8 are shown as \\xNN and the SVG stays valid" {
    # "\xff<x" as base64, as --results writes a command that is not UTF-8.
    printf '%s\n' '{"seq":1,"command_base64":"/zx4","status":"ok","exit":0,"signal":null,"attempt":1,"final":true,"start":5,"runtime":1,"slot":1}' >run.jsonl
    poolrun report run.jsonl -o run.svg
    run "$bars" run.svg
    [ "$status" -eq 0 ]
    [[ $output == *'command: \xFF<x |'* ]]
}

@test "the HTML page lists the slowest tasks and every failed task with the head of its output" {
    known_run
    poolrun report run.jsonl >run.html
    [ "$(head -c 15 run.html)" = '<!DOCTYPE html>' ]
    grep -F '<h2>Failed tasks (4)</h2>' run.html
    grep -F 'FAIL: test_x' run.html
    grep -F '<h2>The slowest 4 tasks</h2>' run.html
    grep -F 'Not drawn: skipped tasks: 1; callback records: 1.' run.html
    # Nothing fetched: no script, style sheet, image, frame or import.
    run grep -cE '<(script|link|img|iframe)|src=|@import|url\(http' run.html
    [ "$output" -eq 0 ]
}

@test "a joblog is drawn with its rows put on the lowest slot free, and says it has less detail" {
    printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n' >log
    printf '1\t:\t1000.000\t   4.000\t0\t0\t0\t0\ta\n' >>log
    printf '2\t:\t1001.000\t   2.000\t0\t0\t1\t0\tb\n' >>log
    printf '3\t:\t1003.000\t   2.000\t0\t0\t0\t0\tc\tmore\n' >>log
    printf '4\t:\t1004.000\t   1.000\t0\t0\t0\t9\td\n' >>log
    poolrun report log -o run.svg
    run "$bars" run.svg
    [ "$status" -eq 0 ]
    [[ $output == *' 96.0 '*'seq 3: ok | command: c	more |'* ]]
    [[ $output == *' 72.0 '*'seq 4: killed |'*'signal 9 (SIGKILL)'* ]]
    [[ $output == *' 96.0 '*'seq 2: failed |'* ]]
    run "$bars" run.svg --texts
    [[ $output == *'2 slots, 5.000 s (from a job log: less detail, slots assigned greedily)'* ]]
}

@test "20,000 bars under a pixel wide are merged per slot and status into a small file" {
    /usr/bin/python3 - <<'PY' >big.jsonl
import json
for seq in range(1, 20001):
    slot = seq % 4 + 1
    start = 1000 + (seq // 4) * 0.01
    status = "failed" if seq % 1000 == 0 else "ok"
    print(json.dumps({"seq": seq, "command": "true", "status": status,
                      "exit": 1 if status == "failed" else 0,
                      "signal": None, "attempt": 1, "final": True,
                      "start": round(start, 3), "runtime": 0.008,
                      "slot": slot}))
PY
    poolrun report big.jsonl -o big.svg
    [ "$(stat -c %s big.svg)" -lt 60000 ]
    run "$bars" big.svg
    [ "$status" -eq 0 ]
    [ "$(printf '%s\n' "$output" | wc -l)" -lt 100 ]
    [[ $output == *'attempts merged (each under a pixel wide), slot 1: seq 4 to '* ]]
    [ "$(printf '%s\n' "$output" | grep -c ': failed |')" -eq 20 ]
}

@test "a torn last line (a killed run) is left out, and the rest drawn" {
    known_run
    printf '{"seq":9,"status":"o' >>run.jsonl
    poolrun report run.jsonl -o run.html
    grep -F 'Line 9 was cut short' run.html
}

@test "a line report cannot read is named by file and line, exit 255" {
    known_run
    sed -i '3s/.*/{"seq":3,"status":"fine"}/' run.jsonl
    run -255 poolrun report run.jsonl -o run.svg
    [ "$output" = 'poolrun: run.jsonl:3: "status" is missing or not one of ok, failed, timeout, killed, error, skipped' ]
    [ ! -e run.svg ]
}

@test "a file that is neither a results file nor a joblog is refused at line 1" {
    echo 'hello' >notes.txt
    run -255 poolrun report notes.txt
    [ "$output" = 'poolrun: notes.txt:1: neither a --results file (JSON Lines) nor a --joblog (its header starts with Seq)' ]
}

@test "report refuses an -o suffix it cannot write, naming it" {
    known_run
    run -255 poolrun report run.jsonl -o run.png
    [ "$output" = 'poolrun: report: -o run.png: unknown format: name the file .html or .svg' ]
    [ ! -e run.png ]
}

@test "a missing file, a directory, or a folder -o cannot write in is named" {
    known_run
    run -255 poolrun report nothere.jsonl
    [ "$output" = 'poolrun: report: nothere.jsonl: cannot read: no such file or directory' ]
    mkdir d
    run -255 poolrun report d
    [ "$output" = 'poolrun: report: d: a directory, not a --results file or --joblog' ]
    run -255 poolrun report run.jsonl -o nodir/run.html
    [ "$output" = 'poolrun: report: -o nodir/run.html: cannot write: no such file or directory' ]
}

@test "report - reads the run from standard input, and names it so" {
    known_run
    poolrun report run.jsonl -o file.svg
    poolrun report - -o stdin.svg <run.jsonl
    # The same drawing; only the title names its source.
    run -0 diff <(sed 's/run\.jsonl/SOURCE/g' file.svg) <(sed 's/standard input/SOURCE/g' stdin.svg)
    grep -F 'class="h">standard input: 5 tasks (6 attempts)' stdin.svg
    run -255 poolrun report - <<<'hello'
    [ "$output" = 'poolrun: standard input:1: neither a --results file (JSON Lines) nor a --joblog (its header starts with Seq)' ]
}

@test "report --help says how it is used" {
    run -0 poolrun report --help
    [[ ${lines[0]} == 'Usage: poolrun report RUN [-o FILE.html|FILE.svg]' ]]
}

@test "the README's picture is made by jobs/report-demo.sh from a real run" {
    run -0 sh "$PR_SRC/jobs/report-demo.sh" demo "$POOLRUN"
    run "$bars" demo/run.svg --texts
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == 'run.jsonl: 32 tasks ('*' attempts), 3 failed, 4 slots, '* ]]
    if command -v chromium >/dev/null && /usr/bin/python3 -c 'import PIL' 2>/dev/null; then
        run "$check_png" demo/run.png --varied 107,43,#009E73
        [ "$status" -eq 0 ]
    fi
}

@test "the man page's report example runs as documented" {
    man_examples >examples
    PATH="$(dirname "$POOLRUN"):$PATH"
    echo a >a.log
    echo b >b.log
    run -0 bash -c "$(grep -F -A1 -- '--results run.jsonl gzip' examples)"
    [ -e a.log.gz ]
    grep -F 'run.jsonl: 2 tasks (2 attempts), 0 failed' run.html
}
