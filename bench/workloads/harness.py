"""How every Python workload is timed; harness.lua is its twin and the two
must stay alike.

measure(op) runs op once to warm up, then REPS more times (REPS is the
script's first argument), and prints one line: "RESULT <mean seconds per op>
s". The clock starts after the interpreter and the script are loaded, so
neither start-up counts.
"""

import multiprocessing
import sys
import time

# The start method every workload uses: fork, Python's default on Linux.
context = multiprocessing.get_context("fork")


def measure(op):
    if len(sys.argv) < 2 or int(sys.argv[1]) < 1:
        sys.exit("usage: python3 WORKLOAD.py REPS")
    reps = int(sys.argv[1])
    op()
    t0 = time.perf_counter()
    for _ in range(reps):
        op()
    print(f"RESULT {(time.perf_counter() - t0) / reps:.6e} s", flush=True)
