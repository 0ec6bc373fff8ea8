"""Create a Pool(2) and wait until it is ready: the first apply of a trivial
task has returned. RESULT: the mean time from creation to ready; closing and
joining the pool comes after the clock stops. pool_create.lua is the same in
mphost."""

from harness import context, measure


def one():
    return 1


def create():
    pool = context.Pool(2)
    if pool.apply(one) != 1:
        raise RuntimeError("apply(one) did not return 1")

    def close():
        pool.close()
        pool.join()

    return close


if __name__ == "__main__":
    measure(create)
