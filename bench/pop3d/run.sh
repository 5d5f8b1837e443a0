#!/bin/sh
# pop3d against Dovecot's POP3 on the same Maildirs, in one run.
#
#   bench/pop3d/run.sh [RUNS]      (default 5 counted runs after 1 warm-up)
#
# Two Maildirs are generated (seeded): "big" with 100,000 messages of about
# 600 bytes, "retr" with 10,000 messages of about 4 KiB. Both servers run
# on 127.0.0.1 as uid/gid 65534 (when started as root) with the same users,
# and bench/pop3d/popbench (a Go client) times, alternately on each server:
#   uidl: connect, USER/PASS, STAT, UIDL of "big", QUIT
#   retr: connect, USER/PASS, STAT, RETR of every message of "retr"
#         (pipelined), QUIT
# The medians are printed with the ratio Dovecot time / pop3d time (above
# 1.0 means pop3d is faster). Dovecot uses pop3_uidl_format = %f, the
# file-name UIDLs pop3d gives, so both do the same work.
set -eu
RUNS=${1:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CONF_TEMPLATE=${DOVECOT_CONF:-/work/shared/notes/peers/dovecot-test.conf}
DIR=$(mktemp -d /tmp/pop3d-bench.XXXXXX)
POP3D_PID=
cleanup() {
	[ -n "$POP3D_PID" ] && kill "$POP3D_PID" 2>/dev/null || true
	[ -f "$DIR/run/master.pid" ] && kill "$(cat "$DIR/run/master.pid")" 2>/dev/null || true
	sleep 1
	rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

cd "$ROOT"
go build -o "$DIR/pop3d" ./cmd/pop3d
go build -o "$DIR/popbench" ./bench/pop3d/popbench
echo "generating Maildirs in $DIR ..."
python3 bench/pop3d/genmaildir.py "$DIR/mail/big/Maildir" 100000 600
python3 bench/pop3d/genmaildir.py "$DIR/mail/retr/Maildir" 10000 4096

RUNAS=
MUID=$(id -u) MGID=$(id -g)
if [ "$(id -u)" = 0 ]; then
	MUID=65534 MGID=65534
	RUNAS="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
printf 'big:{PLAIN}pw\nretr:{PLAIN}pw\n' > "$DIR/users.dovecot"
for u in big retr; do
	echo "$u:{PLAIN}pw:$MUID:$MGID::$DIR/mail/$u::userdb_mail=maildir:$DIR/mail/$u/Maildir"
done > "$DIR/users"
mkdir -p "$DIR/run" "$DIR/state"

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
IMAPPORT=$(freeport) DVPORT=$(freeport) OURPORT=$(freeport)
sed -e "s#@DIR@/users#$DIR/users.dovecot#" -e "s#@DIR@#$DIR#g" -e "s#@UID@#$MUID#g" -e "s#@GID@#$MGID#g" \
	-e "s#port = 10143#port = $IMAPPORT#" -e "s#port = 10110#port = $DVPORT#" \
	"$CONF_TEMPLATE" > "$DIR/dovecot.conf"
cat >> "$DIR/dovecot.conf" <<EOC
protocol pop3 {
  pop3_uidl_format = %f
}
EOC
if [ "$(id -u)" = 0 ]; then chown -R 65534:65534 "$DIR/mail"; chmod 755 "$DIR"; fi
doveconf -c "$DIR/dovecot.conf" -n > /dev/null
dovecot -c "$DIR/dovecot.conf"
$RUNAS "$DIR/pop3d" --listen "127.0.0.1:$OURPORT" --users "$DIR/users" --hostname bench 2> "$DIR/pop3d.log" &
POP3D_PID=$!
for i in 1 2 3 4 5 6 7 8 9 10; do
	if "$DIR/popbench" -addr "127.0.0.1:$OURPORT" -user retr -pass pw -mode uidl > /dev/null 2>&1 &&
		"$DIR/popbench" -addr "127.0.0.1:$DVPORT" -user retr -pass pw -mode uidl > /dev/null 2>&1; then
		break
	fi
	sleep 1
done

one() { # server port mode user -> seconds
	"$DIR/popbench" -addr "127.0.0.1:$2" -user "$4" -pass pw -mode "$3" | awk '{print $1}'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for mode in uidl retr; do
	user=big; [ "$mode" = retr ] && user=retr
	# Warm-up: Dovecot builds its index and uidlist, both servers move the
	# retrieved messages to cur/ once, the page cache is filled.
	one pop3d "$OURPORT" "$mode" "$user" > /dev/null
	one dovecot "$DVPORT" "$mode" "$user" > /dev/null
	: > "$DIR/$mode.ours"; : > "$DIR/$mode.dovecot"
	i=0
	while [ $i -lt "$RUNS" ]; do
		one pop3d "$OURPORT" "$mode" "$user" >> "$DIR/$mode.ours"
		one dovecot "$DVPORT" "$mode" "$user" >> "$DIR/$mode.dovecot"
		i=$((i + 1))
	done
	o=$(median < "$DIR/$mode.ours")
	d=$(median < "$DIR/$mode.dovecot")
	case $mode in
	uidl) what="login+STAT+UIDL, 100,000 messages" ;;
	retr) what="RETR all, 10,000 messages of ~4 KiB" ;;
	esac
	awk -v w="$what" -v o="$o" -v d="$d" -v r="$RUNS" 'BEGIN {
		printf "%-38s pop3d %.3f s   dovecot %.3f s   ratio (dovecot/pop3d) %.2fx   (median of %d)\n", w, o, d, d / o, r }'
done
