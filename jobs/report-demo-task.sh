#!/bin/sh
# One task of jobs/report-demo.sh: task N sleeps (N * 7 mod 10) / 20 s;
# 13 and 27 fail, 21 sleeps past the run's --timeout, 9 fails the first
# time only (it leaves DIR/flaky behind).
#   sh jobs/report-demo-task.sh N DIR
n=$1
dir=$2
case $n in
21) sleep 3 ;;
9)
    if [ ! -e "$dir/flaky" ]; then
        : >"$dir/flaky"
        sleep 0.2
        echo "flaky: first try" >&2
        exit 1
    fi
    ;;
esac
sleep "$(awk -v n="$n" 'BEGIN { print (n * 7 % 10) / 20 }')"
case $n in
13 | 27)
    echo "task $n: input not found" >&2
    exit 2
    ;;
esac
echo "task $n done"
