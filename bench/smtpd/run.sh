#!/bin/sh
# bench/smtpd/run.sh [MESSAGES]   (default 5000: the full 20000 takes over two minutes here)
#
# Same load, same run: Postfix's smtp-source (-s 20 sessions, -l 5120
# byte messages, one connection per message) against
#   1. smtpd --listen delivering durably (fsync file + new/) into a Maildir
#   2. Debian's Postfix delivering into a Maildir (virtual(8)), configured
#      from /work/shared/notes/peers/postfix-maildir.postconf
# and prints messages/s and the ratio. Then the memory of idle sessions.
# Needs root (Postfix; servers run as uid 65534). Restores
# /etc/postfix/main.cf afterwards.
set -eu
N=${1:-5000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/smtpd-bench.XXXXXX)
chmod 755 "$W"
if pgrep -x master >/dev/null; then echo "a Postfix master is already running; not touching it" >&2; exit 1; fi
(cd "$ROOT" && go build -o "$W/smtpd" ./cmd/smtpd)
mkdir -p "$W/md" "$W/pf"
chown -R 65534:65534 "$W/md" "$W/pf"
count() { ls -f "$1" 2>/dev/null | grep -vc '^\.\.\?$' || true; }
now() { date +%s.%N; }
waitfor() { # DIR N
	i=0
	while [ "$(count "$1")" -lt "$2" ]; do sleep 0.02; i=$((i+1)); [ $i -gt 6000 ] && { echo "timeout waiting for $1" >&2; return 1; }; done
	return 0 # the loop's status is its last test's, which set -e would take for a failure
}
cleanup() {
	[ -n "${SMTPD_PID:-}" ] && kill "$SMTPD_PID" 2>/dev/null || true
	if [ -f "$W/main.cf.orig" ]; then
		[ -f /var/spool/postfix/pid/master.pid ] && kill "$(cat /var/spool/postfix/pid/master.pid)" 2>/dev/null || true
		sleep 1
		cp "$W/main.cf.orig" /etc/postfix/main.cf
	fi
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

# --- smtpd ---------------------------------------------------------------
setpriv --reuid 65534 --regid 65534 --clear-groups "$W/smtpd" --listen 127.0.0.1:0 --hostname bench.local \
	--local-domain vtest.local --maildir "$W/md/Maildir" --max-conns 200 --max-per-ip -1 2>"$W/smtpd.log" &
SMTPD_PID=$!
i=0; until grep -q 'msg=listening' "$W/smtpd.log"; do sleep 0.05; i=$((i+1)); [ $i -gt 200 ] && { cat "$W/smtpd.log"; exit 1; }; done
ADDR=$(grep -o 'addr=[^ ]*' "$W/smtpd.log" | head -1 | cut -d= -f2)
# memory: 200 idle sessions in --listen mode, and one stdio process
RSS0=$(awk '/VmRSS/ {print $2}' /proc/$SMTPD_PID/status)
python3 - "$ADDR" "$SMTPD_PID" > "$W/idle.txt" <<'PY'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
cs = []
for _ in range(200):
    c = socket.create_connection((host, int(port)))
    c.recv(512)
    c.sendall(b"EHLO idle.example\r\n")
    cs.append(c)
time.sleep(0.5)
for c in cs:
    c.recv(4096)
rss = [l for l in open("/proc/%s/status" % sys.argv[2]) if l.startswith("VmRSS")][0].split()[1]
print(rss)
for c in cs:
    c.close()
PY
RSS1=$(cat "$W/idle.txt")
sleep 1
t0=$(now)
smtp-source -s 20 -m "$N" -l 5120 -f sender@vtest.local -t bench@vtest.local "$ADDR" >/dev/null 2>&1 || true
waitfor "$W/md/Maildir/new" "$N"
t1=$(now)
SM=$(echo "$N / ($t1 - $t0)" | bc -l)

kill "$SMTPD_PID"; wait "$SMTPD_PID" 2>/dev/null || true; SMTPD_PID=
sleep 20 </dev/null | setpriv --reuid 65534 --regid 65534 --clear-groups "$W/smtpd" --maildir "$W/md/Maildir" --hostname bench.local >/dev/null 2>"$W/stdio.log" &
sleep 1
STDIO_PID=$(pgrep -n -f "$W/smtpd --maildir") || { echo "stdio smtpd exited:" >&2; cat "$W/stdio.log" >&2; exit 1; }
RSS_STDIO=$(awk '/VmRSS/ {print $2}' /proc/$STDIO_PID/status)
kill "$STDIO_PID" 2>/dev/null || true

# --- Postfix -------------------------------------------------------------
cp /etc/postfix/main.cf "$W/main.cf.orig"
sed -e "s#@DIR@#$W/pf#g" /work/shared/notes/peers/postfix-maildir.postconf | grep -v '^#' | grep . |
while read -r line; do postconf -e "$line"; done
postfix start >/dev/null 2>&1
sleep 1
t0=$(now)
smtp-source -s 20 -m "$N" -l 5120 -f sender@vtest.local -t bench@vtest.local 127.0.0.1:25 >/dev/null 2>&1 || true
waitfor "$W/pf/bench/new" "$N"
t1=$(now)
PF=$(echo "$N / ($t1 - $t0)" | bc -l)

printf 'smtp-source -s 20 -m %d -l 5120, one connection per message, delivered to Maildir new/\n' "$N"
printf 'smtpd --listen (durable Maildir):  %8.0f msg/s\n' "$SM"
printf 'Postfix -> virtual(8) Maildir:    %8.0f msg/s\n' "$PF"
printf 'ratio smtpd/Postfix:              %8.2f\n' "$(echo "$SM / $PF" | bc -l)"
printf 'smtpd --listen RSS: %d KiB idle daemon, %d KiB with 200 idle sessions: %.1f KiB per session\n' \
	"$RSS0" "$RSS1" "$(echo "($RSS1 - $RSS0) / 200" | bc -l)"
printf 'smtpd stdio mode RSS per process: %d KiB\n' "$RSS_STDIO"
