#!/bin/sh
# One queue in Redis, two workers (here on one machine; on many, each runs
# its own `poolrun worker`): count the words of every file in jobs/files,
# whatever its name holds, then stop the workers cleanly.  Run from the
# repository's root, with a Redis of yours:
#   sh jobs/redis/two-workers.sh redis://127.0.0.1:6379/demo [path/to/poolrun]
set -eu
queue=$1
poolrun=${2:-./build/poolrun}
"$poolrun" worker --queue "$queue" -j 2 >/dev/null &
w1=$!
"$poolrun" worker --queue "$queue" -j 2 >/dev/null &
w2=$!
# Each file is one argument of its task, never code; resubmitting is
# harmless (the ids are the same).
find jobs/files -type f -print0 | LC_ALL=C sort -z |
    "$poolrun" submit --queue "$queue" -0 -a - wc -w {} >/dev/null
status=0
"$poolrun" join --queue "$queue" --timeout 60 --results - || status=$?
# SIGTERM: each worker hands back what it has not started and ends.
kill -TERM "$w1" "$w2"
wait "$w1" "$w2" || true
exit "$status"
