#!/bin/sh
# A daemon worker for `poolrun --workers` (--protocol line): each line it
# reads is a file name; it answers one line, "WORDS NAME".  It starts once
# and serves many files, as a multiprocessing.Pool worker does.  The first
# line it gets is --worker-init's: a label for its answers.
IFS= read -r label
while IFS= read -r name; do
    words=$(wc -w <"$name" 2>/dev/null) || words=unreadable
    printf '%s %s %s\n' "$label" "$words" "$name"
done
