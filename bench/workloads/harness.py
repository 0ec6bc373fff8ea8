"""How every Python workload is timed; harness.lua is its twin and the two
must stay alike.

measure(op[, warmup]) runs op once to warm up, then REPS more times (REPS is
the script's first argument), and prints one line: "RESULT <mean seconds per
op> s". The clock starts after the interpreter and the script are loaded, so
neither start-up counts.

warmup, when given, runs instead of op for the warm-up: a small version of a
long op that pays the same first-use costs. When op returns a callable, it runs
after the clock has stopped for that op: an untimed cleanup (closing and
joining the pool that op created and timed until ready, say).
"""

import multiprocessing
import sys
import time

# The start method every workload uses: fork, Python's default on Linux.
context = multiprocessing.get_context("fork")


def _cleanup(f):
    if callable(f):
        f()


def measure(op, warmup=None):
    if len(sys.argv) < 2 or int(sys.argv[1]) < 1:
        sys.exit("usage: python3 WORKLOAD.py REPS")
    reps = int(sys.argv[1])
    _cleanup((warmup or op)())
    total = 0.0
    for _ in range(reps):
        t0 = time.perf_counter()
        after = op()
        total += time.perf_counter() - t0
        _cleanup(after)
    print(f"RESULT {total / reps:.6e} s", flush=True)
