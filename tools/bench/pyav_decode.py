#!/usr/bin/env python3
"""Reference for `gopwatch extract` throughput: decode every clip of a list fully, one
thread, in one process (what a CoViAR-style loader must at least do, without its own
accumulation work), with PyAV's FFmpeg.

Usage: pyav_decode.py CLIPS.csv [--every K]
Prints `clips N frames F seconds S`. --every K takes every K-th clip (from the first), as
tools/bench/extract_bench.sh does for gopwatch.
"""

import argparse
import os
import sys
import time

import av


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("list")
    ap.add_argument("--every", type=int, default=1)
    a = ap.parse_args()
    base = os.path.dirname(os.path.abspath(a.list))
    with open(a.list) as f:
        rows = [l.strip().split(",") for l in f if l.strip()]
    if rows and rows[0][:2] == ["path", "label"]:
        rows = rows[1:]
    paths = [os.path.join(base, r[0]) for r in rows][:: a.every]
    t = time.perf_counter()
    frames = 0
    for p in paths:
        with av.open(p, format="h264") as c:
            s = c.streams.video[0]
            s.thread_count = 1
            s.thread_type = "NONE"
            for _ in c.decode(s):
                frames += 1
    print(f"clips {len(paths)} frames {frames} seconds {time.perf_counter() - t:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
