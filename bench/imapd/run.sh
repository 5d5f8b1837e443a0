#!/bin/sh
# Times imapd against Dovecot on identical Maildirs in one run:
# SELECT, UID FETCH 1:* (UID FLAGS RFC822.SIZE), FETCH 1:* ENVELOPE, a
# header SEARCH and a body SEARCH, each in a fresh session; "cold" is the
# first run after the server first sees the Maildir (no dovecot.index*,
# no imapd-cache), "warm" the median of the next runs.
#
# usage: bench/imapd/run.sh [MESSAGES] [ROUNDS]     (run as root: Dovecot
# and imapd then serve the mail as nobody, 65534)
set -eu
N=${1:-10000}
ROUNDS=${2:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=$(mktemp -d /tmp/imapd-bench.XXXXXX)
chmod 755 "$DIR"
DOVECOT_PID=""
IMAPD_PID=""
cleanup() {
	[ -n "$IMAPD_PID" ] && kill "$IMAPD_PID" 2>/dev/null || true
	[ -f "$DIR/run/master.pid" ] && kill "$(cat "$DIR/run/master.pid")" 2>/dev/null || true
	sleep 0.5
	rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

go build -o "$DIR/imapd" "$ROOT/cmd/imapd"
go build -o "$DIR/imapbench" "$ROOT/bench/imapd/imapbench"
"$DIR/imapbench" gen "$DIR/dovecot-mail/bench/Maildir" "$N"
mkdir -p "$DIR/imapd-mail/bench"
cp -a "$DIR/dovecot-mail/bench/Maildir" "$DIR/imapd-mail/bench/Maildir"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DPORT=$(free_port)
IPORT=$(free_port)
printf 'bench:{PLAIN}bench:65534:65534::%s::userdb_mail=maildir:%s\n' \
	"$DIR/imapd-mail/bench" "$DIR/imapd-mail/bench/Maildir" > "$DIR/users"
mkdir -p "$DIR/run" "$DIR/state"
sed -e "s#@DIR@#$DIR#g" -e 's#@UID@#65534#g' -e 's#@GID@#65534#g' \
	-e "s#port = 10143#port = $DPORT#" -e 's#port = 10110#port = 0#' \
	-e "s#maildir:$DIR/mail/#maildir:$DIR/dovecot-mail/#" \
	-e 's#^listen = .*#listen = 127.0.0.1#' \
	/work/shared/notes/peers/dovecot-test.conf > "$DIR/dovecot.conf"
chown -R 65534:65534 "$DIR/dovecot-mail" "$DIR/imapd-mail" "$DIR/users"
dovecot -c "$DIR/dovecot.conf"
setpriv --reuid 65534 --regid 65534 --clear-groups \
	"$DIR/imapd" --users "$DIR/users" --listen "127.0.0.1:$IPORT" --max-per-ip 100 2>"$DIR/imapd.log" &
IMAPD_PID=$!
sleep 1

echo "messages: $N, rounds: $ROUNDS (times in ms: cold, warm median)"
"$DIR/imapbench" time "127.0.0.1:$DPORT" bench bench "$ROUNDS" > "$DIR/dovecot.txt"
"$DIR/imapbench" time "127.0.0.1:$IPORT" bench bench "$ROUNDS" > "$DIR/imapd.txt"
printf '%-22s %10s %10s %10s %10s %8s %8s\n' command dovecot-cold imapd-cold dovecot-warm imapd-warm cold-x warm-x
paste "$DIR/dovecot.txt" "$DIR/imapd.txt" | awk '{
	cr = ($5 > 0) ? $2/$5 : 0; wr = ($6 > 0) ? $3/$6 : 0
	printf "%-22s %10.1f %10.1f %10.1f %10.1f %8.2f %8.2f\n", $1, $2, $5, $3, $6, cr, wr }'
echo "(x = Dovecot time / imapd time: above 1.0 means imapd is faster)"
RSS=$(ps -o rss= -p "$IMAPD_PID" | tr -d ' ')
echo "imapd --listen process RSS after the runs: ${RSS} KiB"
