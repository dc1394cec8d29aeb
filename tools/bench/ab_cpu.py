#!/usr/bin/env python3
"""Binary against binary: is gopwatch build B faster than build A on a stream?

Runs A and B at the same time, pinned to two different cores (swapped every round), so
that both see the same state of a noisy machine, and compares their CPU times (user +
system, from wait4). Prints the median of the per-round ratio B/A with a bootstrap 90 %
interval. On the 2-core development VM, A against itself gives 1.00 +- 0.02 with 30
rounds, where sequential runs of the same binary differ by up to 30 %.

    tools/bench/ab_cpu.py -n 30 FILE A B [-- extra scan arguments]

Needs two cores and `taskset` (util-linux).
"""
import argparse
import os
import random
import statistics
import subprocess
import sys


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", "--rounds", type=int, default=30, help="rounds (default 30)")
    p.add_argument("file", help="H.264 stream to scan")
    p.add_argument("a", help="baseline gopwatch binary")
    p.add_argument("b", help="gopwatch binary to compare")
    p.add_argument("scan_args", nargs="*", help="extra arguments for `gopwatch scan` (after --)")
    args = p.parse_args()
    if (os.cpu_count() or 1) < 2:
        print("needs two cores", file=sys.stderr)
        return 2

    def start(binary: str, cpu: int) -> subprocess.Popen:
        cmd = ["taskset", "-c", str(cpu), binary, "scan", *args.scan_args, args.file]
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def cpu_time(proc: subprocess.Popen) -> float:
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{proc.args[3]} failed on {args.file}")
        return usage.ru_utime + usage.ru_stime

    ta, tb = [], []
    for i in range(args.rounds):
        ca, cb = (0, 1) if i % 2 else (1, 0)
        pa, pb = start(args.a, ca), start(args.b, cb)
        ta.append(cpu_time(pa))
        tb.append(cpu_time(pb))
        print(f"\rround {i + 1}/{args.rounds}", end="", file=sys.stderr)
    print(file=sys.stderr)
    ratios = [b / a for a, b in zip(ta, tb)]
    boots = sorted(statistics.median(random.choices(ratios, k=len(ratios))) for _ in range(2000))
    lo, hi = boots[len(boots) // 20], boots[len(boots) * 19 // 20]
    print(
        f"B/A median {statistics.median(ratios):.3f}  90% [{lo:.3f}, {hi:.3f}]  "
        f"A {statistics.median(ta):.3f} s  B {statistics.median(tb):.3f} s  ({args.rounds} rounds)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
