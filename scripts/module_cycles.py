#!/usr/bin/env python3
"""Fails when two modules of one crate import each other, directly or round a loop.

The graph is read from the source: `crate::a::b` and `super::x` paths (and `use` groups),
each edge to the longest module the path names. A module using its own parent or child is
not an edge (that is how Rust splits one concept over files). Usage:
    python3 scripts/module_cycles.py crates
"""
import os, re, sys, itertools
root = sys.argv[1]
seen = set()
def modname(path, src):
    rel = os.path.relpath(path, src)[:-3]
    parts = rel.split('/')
    if parts[-1] in ('mod', 'lib', 'main'): parts = parts[:-1]
    return '::'.join(parts)
for crate in sorted(os.listdir(root)):
    src = os.path.join(root, crate, 'src')
    if not os.path.isdir(src): continue
    mods = {}
    for d, _, fs in os.walk(src):
        for f in fs:
            if f.endswith('.rs'):
                p = os.path.join(d, f); mods[modname(p, src)] = p
    graph = {m: set() for m in mods}
    for m, p in mods.items():
        text = open(p).read()
        text = re.sub(r'//.*', '', text)
        for path in re.findall(r'\b(crate|super)((?:::\w+)+)', text):
            base, rest = path
            segs = rest.strip(':').split('::')
            if base == 'super':
                parent = m.split('::')[:-1] if m else []
                if os.path.basename(mods[m]) == 'mod.rs': parent = m.split('::')[:-1]
                segs = parent + segs
            # longest module prefix
            for k in range(len(segs), 0, -1):
                cand = '::'.join(segs[:k])
                if cand in mods:
                    if cand != m and not m.startswith(cand + '::') and not cand.startswith(m + '::') and cand != '':
                        graph[m].add(cand)
                    break
        # `use super::{a, b}` / `use crate::{a::X, b}` groups
        for base, body in re.findall(r'\buse (crate|super)::\{([^}]*)\}', text):
            for item in body.split(','):
                seg = item.strip().split('::')[0]
                if base == 'super':
                    parent = m.split('::')[:-1]
                    cand = '::'.join(parent + [seg])
                else:
                    cand = seg
                if cand in mods and cand != m and not m.startswith(cand + '::') and not cand.startswith(m + '::'):
                    graph[m].add(cand)
    # Cycles, pairs and longer (depth-first, up to six modules round).
    def dfs(start, node, path):
        for n in graph[node]:
            if n == start:
                cyc = tuple(path)
                key = frozenset(cyc)
                if key not in seen:
                    seen.add(key); print(f"{crate}: {' -> '.join(path + [start])}")
            elif n not in path and len(path) < 6:
                dfs(start, n, path + [n])
    for m in graph: dfs(m, m, [m])
if seen:
    print("module_cycles: import loops found (above): move what both sides need into a module of its own")
    sys.exit(1)
print("module_cycles: no import loops")
