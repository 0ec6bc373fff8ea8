"""Two child processes each do N increments of one shared Value under one
Lock (acquire, value = value + 1, release), at the same time. RESULT: the mean
time of one round of 2*N increments (the benchmark divides). The two children
are started before the timing and wait on a Pipe for the word to start a
round, so that process start-up does not count; the warm-up is a round of
2*50. lock_contended.lua is the same in mphost."""

from harness import context, measure

N = 1000  # increments per process per round


def incrementer(lock, value, conn):
    while True:
        n = conn.recv()
        if n == "stop":
            return
        for _ in range(n):
            lock.acquire()
            value.value = value.value + 1
            lock.release()
        conn.send(n)


def round_of(conns, value, n):
    before = value.value
    for c in conns:
        c.send(n)
    for c in conns:
        c.recv()
    after = value.value
    if after - before != 2 * n:
        raise RuntimeError(f"the value went up by {after - before}, want {2 * n}")


if __name__ == "__main__":
    lock, value = context.Lock(), context.Value("i", 0)
    conns, procs = [], []
    for _ in range(2):
        mine, theirs = context.Pipe()
        conns.append(mine)
        p = context.Process(target=incrementer, args=(lock, value, theirs))
        p.start()
        procs.append(p)
    measure(lambda: round_of(conns, value, N), lambda: round_of(conns, value, 50))
    for c, p in zip(conns, procs):
        c.send("stop")
        p.join()
