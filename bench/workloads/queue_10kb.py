"""A child puts 10 000 strings of 10 KB into a Queue, the parent gets them
all, then joins the child. RESULT: the mean time of one whole transfer (the
child's start included); the warm-up moves 1000 items. queue_10kb.lua is the
same in mphost."""

from harness import context, measure

N, SIZE = 10000, 10240


def producer(q, n, size):
    item = "x" * size
    for _ in range(n):
        q.put(item)


def transfer(n):
    q = context.Queue()
    p = context.Process(target=producer, args=(q, n, SIZE))
    p.start()
    for i in range(n):
        v = q.get()
        if len(v) != SIZE:
            raise RuntimeError(f"item {i} has {len(v)} bytes")
    p.join()
    q.close()


if __name__ == "__main__":
    measure(lambda: transfer(N), lambda: transfer(1000))
