"""The Monte Carlo estimate of pi (pi.py) in a Pool of WORKERS (the second
argument; 2 when omitted): pool.map over its 8 chunks with chunksize 1, 4e6
samples. RESULT: the mean time of one estimate. The pool is created before,
and closed and joined after, the timing; the warm-up maps 2 chunks.
pi_serial.py does the same work in the main process; pi_pool.lua is the same
in mphost."""

import sys

import pi
from harness import context, measure


def estimate(pool):
    pi.check(sum(pool.map(pi.inside, range(1, pi.CHUNKS + 1), 1)))


if __name__ == "__main__":
    pool = context.Pool(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    measure(lambda: estimate(pool), lambda: pool.map(pi.inside, [1, 2], 1))
    pool.close()
    pool.join()
