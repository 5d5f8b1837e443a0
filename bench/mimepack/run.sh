#!/bin/sh
# Side-by-side benchmark: mimepack against mpack/munpack (mpack 1.6) on
# one message with a large random attachment (default 1 GiB; SIZE_MIB=256
# when disk is short). Builds, then unpacks, each tool in turn, in one
# run; prints wall time, throughput, peak RSS and the ratio.
#
#   bench/mimepack/run.sh            # from the repository root
#   SIZE_MIB=256 bench/mimepack/run.sh
set -eu
SIZE_MIB=${SIZE_MIB:-1024}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/mimepack-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

go build -o "$work/mimepack" "$root/cmd/mimepack"
for p in mpack munpack; do
	command -v $p >/dev/null || { echo "$p is not installed" >&2; exit 1; }
done
head -c $((SIZE_MIB * 1048576)) /dev/urandom > "$work/data.bin"
sync

# measure NAME CMD...: runs CMD, records seconds and peak RSS (KiB).
measure() {
	name=$1; shift
	/usr/bin/time -f '%e %M %U %S' -o "$work/$name.time" "$@"
	read -r secs rss usr sys < "$work/$name.time"
	mbs=$(awk -v s="$secs" -v m="$SIZE_MIB" 'BEGIN { printf "%.0f", (s > 0 ? m * 1.048576 / s : 0) }')
	cpu=$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
	printf '%-18s %7.2f s wall %6s MB/s %7s s CPU %7d KiB peak RSS\n' "$name" "$secs" "$mbs" "$cpu" "$rss"
	eval "t_$name=$secs"
}

cd "$work"
echo "attachment: $SIZE_MIB MiB of random data"
measure mimepack_build sh -c './mimepack -s bench -t a@example.org -m body data.bin > ours.eml'
measure mpack_build mpack -s bench -o theirs.eml data.bin
mkdir out-ours out-theirs
measure mimepack_unpack sh -c './mimepack -x -C out-ours ours.eml > /dev/null'
measure munpack_unpack sh -c "cd out-theirs && munpack -q -f $work/theirs.eml > /dev/null"
cmp data.bin out-ours/data.bin
cmp data.bin out-theirs/data.bin
awk -v a="$t_mpack_build" -v b="$t_mimepack_build" -v c="$t_munpack_unpack" -v d="$t_mimepack_unpack" 'BEGIN {
	printf "build:  mimepack is %.1fx mpack\nunpack: mimepack is %.1fx munpack\n", a / b, c / d }'
