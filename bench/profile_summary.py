"""Sums a LibTorch profiler trace (train_bench --profile TRACE.json, Chrome trace
format) by operator: self time (an operator's time less that of the operators it
called), its share of all self time, and calls, per timed step.
    python3 bench/profile_summary.py TRACE.json STEPS [TOP]
"""
import collections
import json
import re
import sys


def label(name):
    """A custom autograd function's backward node, CppNode<ns::(anonymous namespace)::X>,
    as "X backward"."""
    m = re.match(r"torch::autograd::CppNode<(.*)>$", name)
    return f"{m.group(1).split('::')[-1]} backward" if m else name


def main():
    path, steps = sys.argv[1], int(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    with open(path) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    spans = [e for e in events if e.get("ph") == "X" and "dur" in e]
    # Self time: each span's duration less its direct children's, per thread.
    by_thread = collections.defaultdict(list)
    for e in spans:
        by_thread[(e.get("pid"), e.get("tid"))].append(e)
    self_us = collections.Counter()
    calls = collections.Counter()
    for evs in by_thread.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []  # (end, name, child time)
        def close(upto):
            while stack and stack[-1][0] <= upto:
                end, name, dur, child = stack.pop()
                self_us[name] += dur - child
                if stack:
                    stack[-1][3] += dur
        for e in evs:
            close(e["ts"])
            calls[label(e["name"])] += 1
            stack.append([e["ts"] + e["dur"], label(e["name"]), e["dur"], 0.0])
        close(float("inf"))
    total = sum(self_us.values())
    print(f"{'operator':<48} {'ms/step':>9} {'share':>7} {'calls/step':>10}")
    for name, us in self_us.most_common(top):
        print(f"{name[:48]:<48} {us / 1e3 / steps:9.1f} {100 * us / total:6.1f}% "
              f"{calls[name] / steps:10.1f}")
    print(f"{'all':<48} {total / 1e3 / steps:9.1f}")


if __name__ == "__main__":
    main()
