#!/bin/sh
# SHA-crypt verification (the users file's {SHA512-CRYPT} and
# {SHA256-CRYPT}), userdb's Go implementation side by side with the
# system's crypt(3) (libxcrypt, through Python's crypt module), run
# alternately ROUNDS times; prints the medians and the ratio.
#
#   bench/netio/hash.sh
#
# Needs: go, python3 (3.11 or older: the crypt module).
set -eu
ROUNDS=${ROUNDS:-3}
cd "$(dirname "$0")/../.."
D=$(mktemp -d /tmp/mailtk-bench-hash.XXXXXX)
trap 'rm -rf "$D"' EXIT INT TERM
go test -c -o "$D/userdb.test" ./internal/userdb/
: > "$D/results"
for r in $(seq "$ROUNDS"); do
	"$D/userdb.test" -test.run '^$' -test.bench 'Verify/SHA' -test.benchtime 300x |
		awk '/^BenchmarkVerify/ { split($1, a, "/"); sub(/-[0-9]+$/, "", a[2]); print "go", a[2], $3 / 1000 }' >> "$D/results"
	python3 -W ignore - >> "$D/results" <<'PY'
import crypt, time
for name, h in [("SHA512-CRYPT-5000", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"),
                ("SHA256-CRYPT-5000", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5")]:
    n = 300
    t = time.perf_counter()
    for _ in range(n):
        assert crypt.crypt("Hello world!", h) == h
    print("libxcrypt", name, (time.perf_counter() - t) / n * 1e6)
PY
done
python3 - "$D/results" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
for name in ["SHA512-CRYPT-5000", "SHA256-CRYPT-5000"]:
    go = statistics.median(float(v) for w, n, v in rows if w == "go" and n == name)
    c = statistics.median(float(v) for w, n, v in rows if w == "libxcrypt" and n == name)
    print("%-18s userdb %7.0f us/verify   libxcrypt crypt(3) %7.0f us/verify   userdb takes %.2fx the time" % (name, go, c, go / c))
PY
