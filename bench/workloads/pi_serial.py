"""The Monte Carlo estimate of pi (pi.py) in this one process: its 8 chunks one
after the other, 4e6 samples. RESULT: the mean time of one estimate; the
warm-up is one small chunk. pi_pool.py does the same work in a Pool(2);
pi_serial.lua is the same in mphost."""

import pi
from harness import measure


def estimate():
    pi.check(sum(pi.inside(k) for k in range(1, pi.CHUNKS + 1)))


if __name__ == "__main__":
    measure(estimate, lambda: pi.inside(1))
