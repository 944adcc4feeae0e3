#!/bin/sh
# A pool of two long-lived workers counting the words of every file in
# jobs/files, in input order, each worker replaced after 50 files.  Run
# from the repository's root:
#   sh jobs/worker-pool.sh [path/to/poolrun]
poolrun=${1:-./build/poolrun}
find jobs/files -type f | LC_ALL=C sort |
    "$poolrun" -j 2 -k --workers 'sh jobs/workers/wordcount.sh' \
        --worker-init words: --max-tasks-per-worker 50
