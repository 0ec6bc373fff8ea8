"""A child puts 100 000 small ints into a Queue, the parent gets them all,
then joins the child. RESULT: the mean time of one whole transfer (the
child's start included); the warm-up moves 1000 items. queue_ints.lua is the
same in mphost."""

from harness import context, measure

N = 100000


def producer(q, n):
    for i in range(1, n + 1):
        q.put(i)


def transfer(n):
    q = context.Queue()
    p = context.Process(target=producer, args=(q, n))
    p.start()
    for i in range(1, n + 1):
        v = q.get()
        if v != i:
            raise RuntimeError(f"item {i} is {v!r}")
    p.join()
    q.close()


if __name__ == "__main__":
    measure(lambda: transfer(N), lambda: transfer(1000))
