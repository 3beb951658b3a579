#!/usr/bin/env python3
"""CPython on the bench crate's live-heap workloads: an anchor, not a contender.

The same shapes as bench/src/workloads.rs (`grow`, `grow_cyclic`, `churn`),
each run in a fresh interpreter with the cycle collector on (CPython's
defaults) and off (`gc.disable()`). Prints one tab-separated line per figure,
which the bench parent parses:

    python  -    version  3.11.7
    WORKLOAD  on|off  METRIC  VALUE

Metrics: `ns_1m`, `ns_4m` (grow, grow_cyclic: ns per node); `ns` (ns per
churn step), `max_batch_ms`, `p999_batch_ms` (256-step batches) and
`tracked_over_live` (the most `len(gc.get_objects())` seen, minus the
interpreter's own tracked objects, divided by the 1,000,000 live objects).

Usage: python3 bench/cpython_anchor.py [WORKLOAD ...]   (default: all three)
       python3 bench/cpython_anchor.py --one WORKLOAD on|off
"""

import gc
import math
import subprocess
import sys
import time

GROW_SIZES = ((1_000_000, "1m"), (4_000_000, "4m"))
CHURN_RINGS = 250_000
CHURN_RING = 4
CHURN_STEPS = 1_000_000
BATCH = 256
SEED = 0x9E3779B97F4A7C15
MASK = (1 << 64) - 1
# `len(gc.get_objects())` copies every tracked object into a list (milliseconds
# at 1,000,000 objects), so churn samples it after every 16th batch, untimed,
# and, with the collector off (nothing is ever freed: the count only grows),
# once at the end.
SAMPLE_EVERY = 16
WORKLOADS = ("grow", "grow_cyclic", "churn")


def emit(workload, mode, metric, value):
    """Prints one figure as a tab-separated line."""
    print(f"{workload}\t{mode}\t{metric}\t{value}", flush=True)


class List:
    """A `grow` node: `{ value, next }`."""

    __slots__ = ("value", "next")

    def __init__(self, value, next):
        self.value = value
        self.next = next


class Dlist:
    """A `grow_cyclic` node: `{ value, prev, next }`."""

    __slots__ = ("value", "prev", "next")

    def __init__(self, value, prev, next):
        self.value = value
        self.prev = prev
        self.next = next


class Ring:
    """A `churn` ring node: `{ next }`."""

    __slots__ = ("next",)

    def __init__(self, next):
        self.next = next


def grow(mode):
    """A live singly linked list of 1M, then 4M nodes; ns per node."""
    for n, tag in GROW_SIZES:
        t = time.perf_counter_ns()
        head = None
        for i in range(n):
            head = List(i, head)
        emit("grow", mode, f"ns_{tag}", (time.perf_counter_ns() - t) / n)
        del head
        gc.collect()


def grow_cyclic(mode):
    """The same as a doubly linked list (every node in a cycle); ns per node."""
    for n, tag in GROW_SIZES:
        t = time.perf_counter_ns()
        head = Dlist(0, None, None)
        tail = head
        for i in range(1, n):
            node = Dlist(i, tail, None)
            node.prev.next = node
            tail = node
        emit("grow_cyclic", mode, f"ns_{tag}", (time.perf_counter_ns() - t) / n)
        del head, tail, node
        gc.collect()


def churn_ring():
    """A ring of 4, each node pointing to the next, the last to the first."""
    first = Ring(None)
    last = first
    for _ in range(1, CHURN_RING):
        last = Ring(last)
    first.next = last
    return first


def percentile(v, p):
    """The nearest-rank percentile `p` (0-1) of `v`, sorted in place."""
    v.sort()
    rank = math.ceil(p * len(v))
    return v[min(max(rank, 1), len(v)) - 1]


def churn(mode):
    """1M live objects in rings of 4; 1M steps each replacing a random ring."""
    base = len(gc.get_objects())
    rings = [churn_ring() for _ in range(CHURN_RINGS)]
    live = CHURN_RINGS * CHURN_RING
    most = len(gc.get_objects()) - base
    rng = SEED
    batches = []
    done = 0
    while done < CHURN_STEPS:
        k = min(BATCH, CHURN_STEPS - done)
        t = time.perf_counter_ns()
        for _ in range(k):
            rng ^= (rng << 13) & MASK
            rng ^= rng >> 7
            rng ^= (rng << 17) & MASK
            rings[rng % CHURN_RINGS] = churn_ring()
        batches.append(time.perf_counter_ns() - t)
        done += k
        if mode == "on" and len(batches) % SAMPLE_EVERY == 0:
            most = max(most, len(gc.get_objects()) - base)
    most = max(most, len(gc.get_objects()) - base)
    emit("churn", mode, "ns", sum(batches) / CHURN_STEPS)
    emit("churn", mode, "max_batch_ms", percentile(batches, 1.0) / 1e6)
    emit("churn", mode, "p999_batch_ms", percentile(batches, 0.999) / 1e6)
    emit("churn", mode, "tracked_over_live", most / live)


def one(workload, mode):
    """Runs one workload in this interpreter, the collector on or off."""
    gc.collect()
    if mode == "off":
        gc.disable()
    {"grow": grow, "grow_cyclic": grow_cyclic, "churn": churn}[workload](mode)


def main(argv):
    """Runs each workload, collector on and off, in a fresh interpreter."""
    if argv[:1] == ["--one"]:
        one(argv[1], argv[2])
        return 0
    workloads = [w for w in argv if w in WORKLOADS] or list(WORKLOADS)
    v = sys.version_info
    emit("python", "-", "version", f"{v.major}.{v.minor}.{v.micro}")
    status = 0
    for w in workloads:
        for mode in ("on", "off"):
            r = subprocess.run([sys.executable, __file__, "--one", w, mode], check=False)
            status = status or r.returncode
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
