#!/bin/sh
# Map over files: count the lines of every file in jobs/files, whatever
# its name holds, output in input order.  Run from the repository's root:
#   sh jobs/map-over-files.sh [path/to/poolrun]
poolrun=${1:-./build/poolrun}
find jobs/files -type f -print0 | sort -z | "$poolrun" -0 -k --tag wc -l
