#!/bin/sh
# Side-by-side benchmark of b64mime and qpenc against the programs they
# replace: GNU base64 (coreutils), qprint, and Go's encoding/base64 and
# mime/quotedprintable (bench/mimeenc/stdlib), with cat as the ceiling.
# Every command reads a file from the page cache (tmpfs) and writes
# /dev/null; hyperfine runs them alternately in one invocation.
#
#   bench/mimeenc/run.sh [MIB]        # default 256 MiB, as in RESULTS.md
#   RUNS=10 ONLY='b64-*' bench/mimeenc/run.sh   # timed runs; which benchmarks (a shell pattern)
#
# Needs: go, hyperfine, base64, qprint, python3. Uses $BENCHDIR (default
# /dev/shm/mailtk-bench-mimeenc) and removes it at the end.
set -eu
MIB=${1:-256}
RUNS=${RUNS:-5}
cd "$(dirname "$0")/../.."
D=${BENCHDIR:-/dev/shm/mailtk-bench-mimeenc}
mkdir -p "$D"
trap 'rm -rf "$D"' EXIT INT TERM

go build -o "$D/b64mime" ./cmd/b64mime
go build -o "$D/qpenc" ./cmd/qpenc
go build -o "$D/stdlib" ./bench/mimeenc/stdlib

head -c $((MIB << 20)) /dev/urandom > "$D/rand.bin"
base64 -w 76 "$D/rand.bin" > "$D/rand.b64"
qprint -e -b "$D/rand.bin" "$D/rand.qp"
python3 bench/mimeenc/gentext.py "$D/text.txt" "$MIB"
qprint -e "$D/text.txt" "$D/text.qp"

# Check first that every program gets the same answer.
"$D/b64mime" "$D/rand.bin" | cmp -s - "$D/rand.b64" || { echo "b64mime encoding differs from base64 -w 76"; exit 1; }
"$D/b64mime" -d "$D/rand.b64" | cmp -s - "$D/rand.bin" || { echo "b64mime -d is wrong"; exit 1; }
"$D/qpenc" -d "$D/rand.qp" | cmp -s - "$D/rand.bin" || { echo "qpenc -d of qprint -e -b is wrong"; exit 1; }
"$D/qpenc" -d "$D/text.qp" | cmp -s - "$D/text.txt" || { echo "qpenc -d of qprint -e is wrong"; exit 1; }
"$D/qpenc" --binary "$D/rand.bin" | "$D/qpenc" -d | cmp -s - "$D/rand.bin" || { echo "qpenc --binary round trip is wrong"; exit 1; }

bench() { # NAME CMD... : ours first, then the peers
	name=$1; shift
	case $name in ${ONLY:-*}) ;; *) return 0 ;; esac
	echo "== $name"
	hyperfine -w 1 -r "$RUNS" --style basic --export-json "$D/$name.json" "$@" 2>&1 | grep -E '^(Benchmark|  Time)' || true
	python3 - "$D/$name.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
ours = r[0]
cpu = lambda x: x["user"] + x["system"]
print("   %-44s wall median %.3f s, cpu %.3f s" % (ours["command"][-44:], ours["median"], cpu(ours)))
for p in r[1:]:
    print("   %-44s wall median %.3f s, cpu %.3f s; ours is %.2fx faster (wall), %.2fx (cpu)" % (
        p["command"][-44:], p["median"], cpu(p), p["median"] / ours["median"], cpu(p) / cpu(ours)))
PY
}

# hyperfine sends standard output to /dev/null.
bench b64-encode \
	"$D/b64mime $D/rand.bin" \
	"base64 -w 76 $D/rand.bin" \
	"$D/stdlib b64 < $D/rand.bin" \
	"cat $D/rand.bin"
bench b64-decode \
	"$D/b64mime -d $D/rand.b64" \
	"base64 -d $D/rand.b64" \
	"$D/stdlib b64 -d < $D/rand.b64" \
	"cat $D/rand.b64"
bench qp-encode-text \
	"$D/qpenc $D/text.txt" \
	"qprint -e $D/text.txt /dev/null" \
	"$D/stdlib qp < $D/text.txt"
bench qp-decode-text \
	"$D/qpenc -d $D/text.qp" \
	"qprint -d $D/text.qp /dev/null" \
	"$D/stdlib qp -d < $D/text.qp"
bench qp-encode-binary \
	"$D/qpenc --binary $D/rand.bin" \
	"qprint -e -b $D/rand.bin /dev/null" \
	"$D/stdlib qp -b < $D/rand.bin"
bench qp-decode-binary \
	"$D/qpenc -d $D/rand.qp" \
	"qprint -d $D/rand.qp /dev/null" \
	"$D/stdlib qp -d < $D/rand.qp"
