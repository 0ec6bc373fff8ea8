"""One child process takes and gives a Lock that no other process wants, N
times in a row (acquire, release). RESULT: the mean time of one round of N
pairs (the benchmark divides). The child is started before the timing and
waits on a Pipe for the word to start a round, so that process start-up does
not count; the warm-up is a round of 1000. lock_uncontended.lua is the same in
mphost."""

from harness import context, measure

N = 100000  # pairs per round


def taker(lock, conn):
    while True:
        n = conn.recv()
        if n == "stop":
            return
        for _ in range(n):
            lock.acquire()
            lock.release()
        conn.send(n)


def round_of(conn, n):
    conn.send(n)
    conn.recv()


if __name__ == "__main__":
    lock = context.Lock()
    mine, theirs = context.Pipe()
    p = context.Process(target=taker, args=(lock, theirs))
    p.start()
    measure(lambda: round_of(mine, N), lambda: round_of(mine, 1000))
    mine.send("stop")
    p.join()
