"""The host's rooms (kernel/host/<room>/) and which include which: a cycle between
rooms is a layering error (house_rules.sh fails on it). Prints the edges, each with
one file that makes it, then any cycle.  usage: python3 tests/room_graph.py [ROOT]"""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "."
host = os.path.join(root, "kernel", "host")
rooms = sorted(d for d in os.listdir(host) if os.path.isdir(os.path.join(host, d)))
include = re.compile(r'#include "(%s)/' % "|".join(rooms))
edges = {}  # (from, to) -> a file that makes the edge
for room in rooms:
    for name in sorted(os.listdir(os.path.join(host, room))):
        with open(os.path.join(host, room, name), encoding="utf-8") as f:
            for m in include.finditer(f.read()):
                if m.group(1) != room:
                    edges.setdefault((room, m.group(1)), "%s/%s" % (room, name))
for (a, b), where in sorted(edges.items()):
    print("  %s -> %s (%s)" % (a, b, where))
# A cycle: a room that reaches itself (depth-first over the room graph).
succ = {r: sorted(b for (a, b) in edges if a == r) for r in rooms}
state, cycles = {}, []


def visit(r, path):
    state[r] = "open"
    for n in succ[r]:
        if state.get(n) == "open":
            cycles.append(path[path.index(n):] + [n])
        elif n not in state:
            visit(n, path + [n])
    state[r] = "done"


for r in rooms:
    if r not in state:
        visit(r, [r])
for c in cycles:
    print("house rules: the host's rooms include each other in a cycle: " + " -> ".join(c))
sys.exit(1 if cycles else 0)
