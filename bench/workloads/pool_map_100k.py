"""Pool(2).map(square, range(1, 100001)) with the default chunksize. RESULT:
the mean time of one map. The pool is created before, and closed and joined
after, the timing. pool_map_100k.lua is the same in mphost."""

from harness import context, measure

N = 100000


def square(x):
    return x * x


def map_all(pool, items):
    results = pool.map(square, items)
    if len(results) != N or results[-1] != N * N:
        raise RuntimeError(f"{len(results)} results, the last {results[-1]!r}")


if __name__ == "__main__":
    items = list(range(1, N + 1))
    pool = context.Pool(2)
    measure(lambda: map_all(pool, items))
    pool.close()
    pool.join()
