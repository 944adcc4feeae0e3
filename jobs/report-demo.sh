#!/bin/sh
# A real run drawn by `poolrun report`: 32 tasks on 4 slots, of uneven
# length, two that fail, one that runs past --timeout and one that fails
# once and then passes on its retry.  Writes DIR/run.jsonl (--results),
# DIR/run.svg, DIR/run.html and, if chromium is installed, DIR/run.png
# (man/poolrun-report.png, the README's picture, is that file).  Run
# from the repository's root:
#   sh jobs/report-demo.sh DIR [path/to/poolrun]
# tests/bats/report.bats runs it too.
set -eu
dir=${1:?usage: sh jobs/report-demo.sh DIR [path/to/poolrun]}
poolrun=${2:-./build/poolrun}
mkdir -p "$dir"
rm -f "$dir/run.jsonl" "$dir/flaky"
here=$(dirname "$0")
seq 1 32 | "$poolrun" -j 4 --retries 1 --timeout 1.2 \
    --results "$dir/run.jsonl" sh "$here/report-demo-task.sh" {} "$dir" \
    >/dev/null 2>&1 || true
"$poolrun" report "$dir/run.jsonl" -o "$dir/run.svg"
"$poolrun" report "$dir/run.jsonl" -o "$dir/run.html"
if command -v chromium >/dev/null 2>&1; then
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --force-device-scale-factor=1 --window-size=1000,370 \
        --screenshot="$dir/run.png" "file://$(cd "$dir" && pwd)/run.svg" \
        >/dev/null 2>&1
fi
