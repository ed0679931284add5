#!/usr/bin/env bash
# Runs the failover benchmark: TRIALS (default 10) trials of each scenario,
# one JSON line per trial in results/<scenario>.jsonl, then a summary.
set -euo pipefail
cd "$(dirname "$0")/../.."
TRIALS=${TRIALS:-10}
OUT=bench/failover/results
mkdir -p "$OUT"
go build -o /tmp/orocloud-failoverbench ./bench/failover
{ date -u; nproc; uptime; } > "$OUT/machine.txt"
for s in ${SCENARIOS:-node-loss pg-kill stall}; do
  rm -f "$OUT/$s.jsonl"
  /tmp/orocloud-failoverbench -trials "$TRIALS" -scenario "$s" -out "$OUT/$s.jsonl" 2>>"$OUT/settings.txt"
done
python3 bench/failover/summary.py "$OUT"/*.jsonl
rm -f /tmp/orocloud-failoverbench
