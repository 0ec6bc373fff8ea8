"""A child echoes every message it receives on its end of a duplex Pipe; the
parent sends a small int and waits for it to come back, 1000 times. RESULT:
the mean time of one batch of 1000 round trips (the benchmark divides). The
child is started before, and stopped after, the timing; the warm-up is 100
round trips. pipe_pingpong.lua is the same in mphost."""

from harness import context, measure

ROUND_TRIPS = 1000


def echo(conn):
    while True:
        m = conn.recv()
        if m == "stop":
            return
        conn.send(m)


def batch(conn, n):
    for i in range(1, n + 1):
        conn.send(i)
        v = conn.recv()
        if v != i:
            raise RuntimeError(f"sent {i}, got back {v!r}")


if __name__ == "__main__":
    mine, theirs = context.Pipe()
    p = context.Process(target=echo, args=(theirs,))
    p.start()
    measure(lambda: batch(mine, ROUND_TRIPS), lambda: batch(mine, 100))
    mine.send("stop")
    p.join()
