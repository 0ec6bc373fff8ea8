"""Top functions of one process in a `perf record -g` profile.

    perf script -i perf.data -F comm,pid,tid,ip,sym > perf.txt
    python3 perftop.py perf.txt [PID] [N]

prints, for the process PID (default: the first process sampled, which is
the command perf started: mphost's host), the share of its samples in each
function itself (self) and under each function (inclusive), the N largest
of each (default 30). `perf report --pid` does not separate the processes
of one binary well when they share a command name; this reads the samples
one by one.
"""

import collections
import sys


def samples(path):
    """Yields (pid, [frames, innermost first]) for each sample."""
    pid, frames = None, []
    with open(path) as f:
        for line in f:
            if not line.strip():
                if pid is not None:
                    yield pid, frames
                pid, frames = None, []
            elif not line[0].isspace():
                pid, frames = line.split()[1].split("/")[0], []
            else:
                parts = line.split(None, 1)
                frames.append(parts[1].strip() if len(parts) > 1 else "?")
    if pid is not None:
        yield pid, frames


def main():
    path = sys.argv[1]
    want = sys.argv[2] if len(sys.argv) > 2 else None
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    own, under = collections.Counter(), collections.Counter()
    per_pid, n = collections.Counter(), 0
    for pid, frames in samples(path):
        per_pid[pid] += 1
        want = want or pid
        if pid != want or not frames:
            continue
        n += 1
        own[frames[0]] += 1
        for frame in set(frames):
            under[frame] += 1
    print("samples per process:", ", ".join(f"{p} {c}" for p, c in per_pid.most_common()))
    print(f"process {want}: {n} samples")
    for title, counts in (("self", own), ("inclusive", under)):
        print(f"--- {title}")
        for name, count in counts.most_common(top):
            print(f"{100 * count / n:5.1f}%  {name[:120]}")


if __name__ == "__main__":
    main()
