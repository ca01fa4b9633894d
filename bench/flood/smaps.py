#!/usr/bin/python3
"""Where a process's resident memory is, from /proc/PID/smaps dumps (issue 16 item 6).

    bench/flood/smaps.py BEFORE.smaps [AFTER.smaps]

One file: the resident kB by kind of mapping. Two: both side by side, and each mapping whose
resident size changed by 64 kB or more, matched by start address.

Kinds: `heap` (the main arena, [heap]); `arena` (a thread's malloc heap: an anonymous mapping
starting on a 64 MiB boundary, glibc's HEAP_MAX_SIZE on 64-bit); `stack` ([stack] and 8 MiB
thread stacks); `anon-big` (anonymous >= 64 MiB that is no arena: the session slab's
reservation); `anon` (other anonymous mappings: mmap'd malloc blocks, the slab's state bytes,
the limiters' big arrays); `file:NAME` (the executable and each library, by base name).
"""
import collections
import os
import re
import sys

HEAD = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$")
ARENA_ALIGN = 64 << 20


def parse(path):
    maps, cur = [], None
    with open(path) as f:
        for line in f:
            m = HEAD.match(line)
            if m:
                cur = {"start": int(m.group(1), 16), "end": int(m.group(2), 16),
                       "perms": m.group(3), "path": m.group(4).strip(), "rss": 0, "anon": 0}
                maps.append(cur)
            elif cur is not None and line.startswith("Rss:"):
                cur["rss"] = int(line.split()[1])
            elif cur is not None and line.startswith("Anonymous:"):
                cur["anon"] = int(line.split()[1])
    return maps


def kind(m):
    size = m["end"] - m["start"]
    p = m["path"]
    if p == "[heap]":
        return "heap"
    if p == "[stack]":
        return "stack"
    if p.startswith("["):
        return p
    if p:
        return "file:" + os.path.basename(p.split(" ")[0])
    if m["start"] % ARENA_ALIGN == 0 and size <= ARENA_ALIGN and "rw" in m["perms"]:
        return "arena"
    if size == 8 << 20 and "rw" in m["perms"]:
        return "stack"
    if size >= 64 << 20:
        return "anon-big"
    return "anon"


def by_kind(maps):
    out = collections.Counter()
    for m in maps:
        k = kind(m)
        if k.startswith("file:") and m["anon"]:
            out["file-anon (relocations, .data/.bss)"] += m["anon"]
            out[k] += m["rss"] - m["anon"]
        else:
            out[k] += m["rss"]
    return out


def main():
    files = sys.argv[1:]
    if not 1 <= len(files) <= 2:
        sys.exit(__doc__)
    sets = [parse(f) for f in files]
    kinds = [by_kind(s) for s in sets]
    names = sorted(set().union(*kinds), key=lambda k: -max(c[k] for c in kinds))
    print("%-40s" % "kind (Rss kB)" + "".join("%12s" % os.path.basename(f)[:11] for f in files)
          + ("%10s" % "delta" if len(files) == 2 else ""))
    for k in names:
        vals = [c[k] for c in kinds]
        if not any(vals):
            continue
        print("%-40s" % k + "".join("%12d" % v for v in vals)
              + ("%+10d" % (vals[1] - vals[0]) if len(vals) == 2 else ""))
    tot = [sum(m["rss"] for m in s) for s in sets]
    print("%-40s" % "total" + "".join("%12d" % v for v in tot)
          + ("%+10d" % (tot[1] - tot[0]) if len(tot) == 2 else ""))
    if len(sets) == 2:
        before = {m["start"]: m for m in sets[0]}
        print("\nmappings whose Rss changed by >= 64 kB (start, size kB, kind, before -> after):")
        for m in sets[1]:
            b = before.get(m["start"])
            old = b["rss"] if b else 0
            if abs(m["rss"] - old) >= 64:
                print("  %x %8d kB  %-22s %8d -> %8d%s" % (
                    m["start"], (m["end"] - m["start"]) >> 10, kind(m), old, m["rss"],
                    "" if b else "  (new)"))


if __name__ == "__main__":
    main()
