"""Start one trivial process and join it. RESULT: the mean time of one
start+join. process_start_1.lua is the same in mphost."""

from harness import context, measure


def noop():
    pass


def start_join():
    p = context.Process(target=noop)
    p.start()
    p.join()


if __name__ == "__main__":
    measure(start_join)
