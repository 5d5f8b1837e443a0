#!/bin/sh
# Bulk MX resolution: mxlookup side by side with adnshost (adns-tools) and
# dnsperf (the server's ceiling) against one loopback nsd, in one run.
#
#   bench/mxlookup/run.sh [DOMAINS] [JOBS]      (defaults: 100000 100)
#
# nsd serves a generated zone of DOMAINS domains (MX 10 and MX 20 to a
# pool of 1000 exchangers with A and AAAA records) on 127.88.0.53 port 53:
# adns cannot use another port, and 127.88.0.53 is a loopback address
# nothing else uses. Every tool reads the same domain list. Needs root
# (port 53), nsd, adnshost, dnsperf and GNU time.
set -eu
N=${1:-100000}
J=${2:-100}
ADDR=127.88.0.53
cd "$(dirname "$0")/../.."
DIR=$(mktemp -d)
NSD_PID=
cleanup() { [ -n "$NSD_PID" ] && kill "$NSD_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT INT TERM

go build -o "$DIR/mxlookup" ./cmd/mxlookup

python3 - "$DIR" "$N" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
with open(f"{d}/bench.test.zone", "w") as z, open(f"{d}/domains.txt", "w") as dom, open(f"{d}/dnsperf.txt", "w") as dp:
    z.write("$ORIGIN bench.test.\n$TTL 3600\n@ SOA ns.bench.test. h.bench.test. 1 3600 600 86400 300\n@ NS ns\nns A 127.88.0.53\n")
    for i in range(1000):
        z.write(f"mx{i} A 10.{i // 256}.{i % 256}.1\nmx{i} AAAA fd00::{i:x}\n")
    for i in range(n):
        z.write(f"d{i} MX 10 mx{i % 1000}\nd{i} MX 20 mx{(i * 7 + 1) % 1000}\n")
        dom.write(f"d{i}.bench.test\n")
        dp.write(f"d{i}.bench.test MX\n")
PY

cat > "$DIR/nsd.conf" <<CONF
server:
  ip-address: $ADDR@53
  port: 53
  username: ""
  chroot: ""
  zonesdir: "$DIR"
  database: ""
  pidfile: "$DIR/nsd.pid"
  logfile: "$DIR/nsd.log"
  xfrdfile: "$DIR/xfrd.state"
  zonelistfile: "$DIR/zone.list"
  xfrdir: "$DIR"
  server-count: 1
  verbosity: 0
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: bench.test
  zonefile: bench.test.zone
CONF
nsd -d -c "$DIR/nsd.conf" &
NSD_PID=$!
i=0
until dig @$ADDR +time=1 +tries=1 +short bench.test SOA >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 100 ] || { echo "nsd did not start" >&2; cat "$DIR/nsd.log" >&2; exit 1; }
  sleep 0.1
done

# measure NAME CMD...: wall seconds and peak RSS (KiB) of one run, output
# lines counted; stdin is the domain list.
measure() {
  name=$1; shift
  st=0
  /usr/bin/time -f "%e %M" -o "$DIR/time" "$@" < "$DIR/domains.txt" > "$DIR/out.$name" 2>"$DIR/err.$name" || st=$?
  read -r secs rss <<TIME
$(tail -n 1 "$DIR/time")
TIME
  lines=$(wc -l < "$DIR/out.$name")
  rate=$(awk -v n="$N" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
  printf '%-24s %7s s %7s lookups/s %7s KiB RSS %7s lines, exit %s\n' "$name" "$secs" "$rate" "$rss" "$lines" "$st"
  eval "rate_$(echo "$name" | tr -c 'a-z0-9\n' '_')=$rate"
}

echo "$N domains, $J in flight, nsd on $ADDR:53 ($(nproc) cores, shared by client and server)"
measure dnsperf dnsperf -s $ADDR -p 53 -d "$DIR/dnsperf.txt" -n 1 -c 1 -q "$J" -t 5
dnsperf_qps=$(awk '/Queries per second/ { printf "%.0f", $4 }' "$DIR/out.dnsperf")
echo "  dnsperf's own count: $dnsperf_qps queries/s, $(awk '/Queries completed/ { print $3, $4 }' "$DIR/out.dnsperf") completed"
# adnshost -f sends every query of its input at once: with 100,000 lines
# nearly all time out (adns 1.6 has no in-flight limit). So it gets the
# domains J at a time, one process per batch, which is J in flight too.
ADNS="xargs -n $J adnshost --config nameserver\\ $ADDR -a"
measure adnshost-mx-raw sh -c "$ADNS -t mx-"
measure mxlookup-no-addrs "$DIR/mxlookup" -q -j "$J" --no-addrs --server $ADDR
measure adnshost-mx-with-addrs sh -c "$ADNS -t mx"
measure mxlookup "$DIR/mxlookup" -q -j "$J" --server $ADDR

ok=$(awk '$2 ~ /^[0-9]+$/ { print $1 }' "$DIR/out.mxlookup" | sort -u | wc -l)
echo "  mxlookup answered $ok of $N domains with exchangers"
echo "  adnshost answered $(grep -c '^[0-9]' "$DIR/out.adnshost-mx-with-addrs") of $N, $(grep -c timeout "$DIR/out.adnshost-mx-with-addrs") timeouts"
awk -v a="$rate_mxlookup_no_addrs" -v b="$rate_adnshost_mx_raw" -v c="$dnsperf_qps" -v d="$rate_mxlookup" -v e="$rate_adnshost_mx_with_addrs" 'BEGIN {
  printf "ratio mxlookup --no-addrs / adnshost -t mx-   = %.2f\n", a / b
  printf "ratio mxlookup --no-addrs / dnsperf (ceiling) = %.2f\n", a / c
  printf "ratio mxlookup / adnshost -t mx (addresses)   = %.2f\n", d / e
}'
