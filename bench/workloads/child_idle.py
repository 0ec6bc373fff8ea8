"""An idle child for BenchmarkChildMemory: start one Process (fork) that sets
ready and waits on stop, wait for ready, print "PID <the child's pid>", then
read one line from stdin (the benchmark writes it once it has read the
child's memory), set stop and join. child_idle.lua is the same in mphost."""

import sys

from harness import context


def idle(ready, stop):
    ready.set()
    stop.wait()


if __name__ == "__main__":
    ready, stop = context.Event(), context.Event()
    p = context.Process(target=idle, args=(ready, stop))
    p.start()
    if not ready.wait(60):
        sys.exit("the child did not get ready in 60 s")
    print(f"PID {p.pid}", flush=True)
    sys.stdin.readline()
    stop.set()
    p.join()
