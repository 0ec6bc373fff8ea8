"""Pool(2).map(square, range(1, 10001), chunksize=1): one task per item.
RESULT: the mean time of one map. The pool is created before, and closed and
joined after, the timing; the warm-up is a map of 10 items.
pool_map_chunk1.lua is the same in mphost."""

from harness import context, measure

N = 10000


def square(x):
    return x * x


def map_all(pool, items):
    results = pool.map(square, items, 1)
    if len(results) != N or results[-1] != N * N:
        raise RuntimeError(f"{len(results)} results, the last {results[-1]!r}")


if __name__ == "__main__":
    items = list(range(1, N + 1))
    pool = context.Pool(2)
    measure(lambda: map_all(pool, items), lambda: pool.map(square, range(1, 11), 1))
    pool.close()
    pool.join()
