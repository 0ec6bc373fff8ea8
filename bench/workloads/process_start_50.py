"""Start 50 trivial processes, then join them all. RESULT: the mean time of
one batch. process_start_50.lua is the same in mphost."""

from harness import context, measure


def noop():
    pass


def batch():
    procs = []
    for _ in range(50):
        p = context.Process(target=noop)
        p.start()
        procs.append(p)
    for p in procs:
        p.join()


if __name__ == "__main__":
    measure(batch)
