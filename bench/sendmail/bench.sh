#!/bin/sh
# Submission and queue-run throughput of mailtk's sendmail against
# Postfix's sendmail (postdrop) and queue manager, in one run, on this
# machine. Postfix runs as a private instance (its own config directory,
# queue and data directories under a temp dir), so the system's Postfix
# is never touched; both relay to the same Postfix smtp-sink.
#
#   bench/sendmail/bench.sh [N]        (default N=1000 messages of 5 KiB)
#
# Needs root (Postfix's instance), postfix, smtp-sink, go.
set -eu
N=${1:-1000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/mailtk-bench-sendmail.XXXXXX)
chmod 755 "$W"
trap 'set +e; [ -n "${SINKPID:-}" ] && kill $SINKPID; postfix -c $W/pf stop >/dev/null 2>&1; rm -rf "$W"' EXIT

go build -o "$W/sendmail" "$ROOT/cmd/sendmail"
head -c 3800 /dev/urandom | base64 -w 76 > "$W/body"
{ printf 'From: a@example.org\nTo: b@example.net\nSubject: bench\n\n'; cat "$W/body"; } > "$W/msg"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
rate() { python3 -c "import sys; n,t=float(sys.argv[1]),float(sys.argv[2]); print('%.0f' % (n/t))" "$1" "$2"; }
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1])/float(sys.argv[2])))" "$1" "$2"; }

SINK=$(free_port)
smtp-sink -u nobody 127.0.0.1:$SINK 256 & SINKPID=$!

# A private Postfix instance relaying everything to the sink.
mkdir -p "$W/pf" "$W/pfq" "$W/pfd"
cp /etc/postfix/master.cf "$W/pf/master.cf"
# No SMTP listener: the instance only picks up, queues and relays.
sed -i 's/^smtp      inet/#smtp      inet/' "$W/pf/master.cf"
cat > "$W/pf/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $W/pfq
data_directory = $W/pfd
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = bench.localdomain
mydestination =
relayhost = [127.0.0.1]:$SINK
smtp_dns_support_level = disabled
maillog_file = $W/postfix.log
maillog_file_prefixes = $W
alias_maps =
smtp_tls_security_level = none
CONF
chown postfix "$W/pfd"
postfix -c "$W/pf" start >/dev/null 2>&1
sleep 1

Q="$W/queue"
echo "== submission: $N messages of $(wc -c < "$W/msg") octets, one process each"
t0=$(now)
i=0; while [ $i -lt $N ]; do "$W/sendmail" -C /dev/null --queue "$Q" -f a@example.org b@example.net < "$W/msg"; i=$((i+1)); done
t1=$(now); OURS=$(echo "$t1 - $t0" | bc)

# Stop Postfix's queue manager from draining while we time postdrop.
postfix -c "$W/pf" stop >/dev/null 2>&1; sleep 1
t0=$(now)
i=0; while [ $i -lt $N ]; do /usr/sbin/sendmail -C "$W/pf" -f a@example.org b@example.net < "$W/msg" 2>/dev/null; i=$((i+1)); done
t1=$(now); PF=$(echo "$t1 - $t0" | bc)
echo "mailtk sendmail (queue):   $(rate $N $OURS) msg/s  ($OURS s)"
echo "postfix sendmail (postdrop): $(rate $N $PF) msg/s  ($PF s)"
echo "ratio mailtk/postfix: $(ratio $PF $OURS)"

echo "== queue run: $N queued messages relayed to smtp-sink"
t0=$(now)
"$W/sendmail" -C /dev/null --queue "$Q" -q --relay 127.0.0.1:$SINK --relay-insecure
t1=$(now); OURS=$(echo "$t1 - $t0" | bc)
left=$(ls "$Q/env" | wc -l)

t0=$(now)
postfix -c "$W/pf" start >/dev/null 2>&1
while :; do
  n=$(find "$W/pfq/maildrop" "$W/pfq/incoming" "$W/pfq/active" "$W/pfq/deferred" -type f 2>/dev/null | wc -l)
  [ "$n" -eq 0 ] && break
  sleep 0.05
done
t1=$(now); PF=$(echo "$t1 - $t0" | bc)
echo "mailtk sendmail -q:        $(rate $N $OURS) msg/s  ($OURS s, $left left)"
echo "postfix pickup+qmgr+smtp:  $(rate $N $PF) msg/s  ($PF s, from start of the instance)"
echo "ratio mailtk/postfix: $(ratio $PF $OURS)"
