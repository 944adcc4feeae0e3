#!/bin/sh
# A worker on each host named, over ssh, until this script is stopped
# (Ctrl-C: ssh -t passes it on, and each worker leaves cleanly).  Each host
# keeps the password in a file only its user reads; it never travels in a
# command line:
#   POOLRUN_QUEUE=redis://redis.example:6379/nightly \
#       sh jobs/redis/ssh-workers.sh host1 host2 host3
set -eu
: "${POOLRUN_QUEUE:?set POOLRUN_QUEUE=redis://HOST[:PORT][/DB]/NAME}"
for host in "$@"; do
    ssh -tt "$host" poolrun worker --queue "$POOLRUN_QUEUE" \
        --password-file '~/.config/poolrun/redis-password' -j 8 &
done
wait
