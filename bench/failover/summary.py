#!/usr/bin/env python3
"""Summarise failoverbench JSON lines: min / median / max per scenario."""
import json, statistics, sys

def fmt(xs):
    xs = sorted(xs)
    return "%.2f / %.2f / %.2f" % (xs[0], statistics.median(xs), xs[-1]) if xs else "-"

print("| scenario | trials | failovers | kill -> first acked INSERT on new primary, s (min / median / max) | detection, s | promotion, s | routed, s after kill | acked rows lost |")
print("|---|---|---|---|---|---|---|---|")
for path in sys.argv[1:]:
    rows = [json.loads(l) for l in open(path) if l.strip()]
    if not rows:
        continue
    sc = rows[0]["scenario"]
    fo = sum(r["failovers"] for r in rows)
    acked = sum(r["acked"] for r in rows)
    lost = sum(r["lost"] for r in rows)
    if sc == "stall":
        print(f"| {sc} | {len(rows)} | {fo} | - | - | - | - | {lost} of {acked} |")
        continue
    print(f"| {sc} | {len(rows)} | {fo} | {fmt([r['first_ack_s'] for r in rows])} | {fmt([r['detected_s'] for r in rows])} | "
          f"{fmt([r['promotion_s'] for r in rows])} | {fmt([r['routed_s'] for r in rows])} | {lost} of {acked} |")
