"""A daemon worker for `poolrun --workers` with --protocol json.

Each line it reads is {"seq": N, "input": "..."}; it answers one line,
{"output": "...", "exit": 0}, with the square of the input, or exit 1 and
an error for an input that is not a whole number.  It flushes each answer:
poolrun reads the answer only once it is written out.
"""
import json
import sys

for line in sys.stdin:
    task = json.loads(line)
    try:
        n = int(task["input"])
        answer = {"output": str(n * n), "exit": 0}
    except ValueError:
        answer = {"output": "", "exit": 1,
                  "error": "not a whole number: %r" % task["input"]}
    print(json.dumps(answer), flush=True)
