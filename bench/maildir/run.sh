#!/bin/sh
# Side-by-side benchmarks of the maildir package against the floor of this
# disk, in one run, with ratios:
#   - durable 5 KiB deliveries/s, 1 and 8 writers: maildir.Deliver vs a raw
#     write + fsync + rename + fsync(dir) loop (target: ratio >= 0.90);
#   - Scan of 100,000 messages vs a bare readdir of new/ and cur/
#     (target: ratio <= 2.00);
#   - proof that Scan makes no per-message stat: strace counts the system
#     calls of one Scan and of one bare readdir.
# Usage: bench/maildir/run.sh [DIR]   (DIR: where the test Maildirs go,
# i.e. the disk under test; default /var/tmp)
set -eu
cd "$(dirname "$0")/../.."
DIR=${1:-/var/tmp}
BIN=$(mktemp -d)/maildir-bench
trap 'rm -rf "$(dirname "$BIN")"' EXIT
go build -o "$BIN" ./bench/maildir

echo "== go test -bench (for reference; single runs, not paired)"
go test -run '^$' -bench . -benchtime 100x ./maildir/ | grep '^Benchmark'

echo "== paired runs"
"$BIN" -dir "$DIR" -only deliver -batch 40 -rounds 15
"$BIN" -dir "$DIR" -only scan -rounds 15

if command -v strace >/dev/null; then
  echo "== system calls of one Scan / one bare readdir of 100,000 messages (strace)"
  for mode in -scan-only -readdir-only; do
    strace -f -e trace=openat,getdents64,newfstatat,statx,lstat,stat,fstat \
      -o "$BIN.strace" "$BIN" -dir "$DIR" -only scan $mode >/dev/null
    # Count between the markers the program stats around the measured call.
    awk -v mode="$mode" '
      /maildir-bench-start/ {on=1; next}
      /maildir-bench-end/   {on=0}
      on && $2 !~ /^(---|\+\+\+|<\.\.\.)/ {split($2, a, "("); c[a[1]]++}
      END {printf "%s:", mode; for (k in c) printf " %s=%d", k, c[k]; print ""}' "$BIN.strace"
  done
fi
