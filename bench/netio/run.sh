#!/bin/sh
# Sessions per second through netio, side by side with the programs it
# stands in for, in one run:
#
#   listen    echoserver --listen (netio accepts; one goroutine per session)
#   tcpserver tcpserver -R -H -l localhost running echoserver per connection (netio stdio mode)
#   ssa       systemd-socket-activate --inetd -a running echoserver
#   sh        tcpserver running a two-line /bin/sh server: the fork+exec
#             floor of any per-connection program (the peer baseline)
#
# Each session: connect, read the greeting, send QUIT, read to EOF. The
# modes run alternately, ROUNDS times, and the median is printed with
# the ratio to tcpserver+echoserver.
#
#   bench/netio/run.sh [N]     # N sessions per measurement, default 2000
#
# Needs: go, tcpserver (ucspi-tcp-ipv6), systemd-socket-activate, python3.
set -eu
N=${1:-2000}
ROUNDS=${ROUNDS:-3}
cd "$(dirname "$0")/../.."
D=$(mktemp -d /tmp/mailtk-bench-netio.XXXXXX)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; rm -rf "$D"; }
trap cleanup EXIT INT TERM

go build -o "$D/echoserver" ./internal/netio/internal/echoserver
go build -o "$D/connbench" ./bench/netio/connbench
cat > "$D/sh-server" <<'SH'
#!/bin/sh
printf '220 sh\r\n'
read -r line
printf '221 bye\r\n'
SH
chmod 755 "$D/sh-server"

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitport() { for i in $(seq 100); do python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),1)" 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened"; exit 1; }

P1=$(freeport); "$D/echoserver" --listen 127.0.0.1:$P1 --max-per-ip -1 --max-conns -1 2>/dev/null & PIDS="$PIDS $!"
P2=$(freeport); tcpserver -R -H -l localhost -c 100 127.0.0.1 $P2 "$D/echoserver" 2>/dev/null & PIDS="$PIDS $!"
P3=$(freeport); systemd-socket-activate -l 127.0.0.1:$P3 --inetd -a "$D/echoserver" 2>/dev/null & PIDS="$PIDS $!"
P4=$(freeport); tcpserver -R -H -l localhost -c 100 127.0.0.1 $P4 "$D/sh-server" 2>/dev/null & PIDS="$PIDS $!"
for p in $P1 $P2 $P3 $P4; do waitport $p; done

: > "$D/results"
for r in $(seq "$ROUNDS"); do
	for m in listen:$P1 tcpserver:$P2 ssa:$P3 sh:$P4; do
		echo "${m%%:*} $("$D/connbench" 127.0.0.1:${m#*:} "$N")" >> "$D/results"
	done
done
python3 - "$D/results" "$N" "$ROUNDS" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
med = {}
for name in ["listen", "tcpserver", "ssa", "sh"]:
    med[name] = statistics.median(float(v) for n, v in rows if n == name)
labels = {
    "listen": "echoserver --listen (netio listener)",
    "tcpserver": "tcpserver + echoserver (netio stdio)",
    "ssa": "systemd-socket-activate --inetd + echoserver",
    "sh": "tcpserver + /bin/sh server (fork+exec floor)",
}
print("%d sessions x %s rounds, median sessions/s" % (int(sys.argv[2]), sys.argv[3]))
for k in ["listen", "tcpserver", "ssa", "sh"]:
    print("  %-48s %8.0f  %5.2fx tcpserver+echoserver" % (labels[k], med[k], med[k] / med["tcpserver"]))
PY
