"""The Monte Carlo estimate of pi that pi_serial.py and pi_pool.py time
(pi.lua is its twin). SAMPLES points are drawn in CHUNKS chunks; chunk k draws
from its own Park-Miller generator seeded by k, so the count of hits is the
same however the chunks are scheduled, and the same in Lua."""

SAMPLES, CHUNKS = 4000000, 8
HITS = 3141133  # what every run must count, Lua or Python

PER_CHUNK = SAMPLES // CHUNKS


def inside(k):
    """Counts the points of chunk k that fall inside the unit circle."""
    seed = 12345 + 7919 * k  # in 1 .. 2**31-2
    hits = 0
    for _ in range(PER_CHUNK):
        seed = 16807 * seed % 2147483647
        x = seed / 2147483647
        seed = 16807 * seed % 2147483647
        y = seed / 2147483647
        if x * x + y * y <= 1:
            hits += 1
    return hits


def check(hits):
    """Raises unless hits is the expected count."""
    if hits != HITS:
        raise RuntimeError(f"{hits} hits, want {HITS} (pi about {4 * hits / SAMPLES:.5f})")
