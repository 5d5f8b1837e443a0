#!/bin/sh
# Builds the programs into ./bin and runs smtpd, pop3d and imapd on
# loopback with a demo user (demo / demo) and its Maildir under ./demo,
# in the foreground until Ctrl-C:
#
#   SMTP 127.0.0.1:2525   POP3 127.0.0.1:1110   IMAP 127.0.0.1:1143
#
# Plaintext logins are allowed because the clients are on loopback; the
# servers refuse them from other hosts unless the connection uses TLS.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SMTP_PORT=${SMTP_PORT:-2525} POP3_PORT=${POP3_PORT:-1110} IMAP_PORT=${IMAP_PORT:-1143}

mkdir -p bin
for p in smtpd pop3d imapd sendmail mimepack qpenc b64mime mxlookup; do
	go build -o "bin/$p" "./cmd/$p"
done

DEMO="$ROOT/demo"
# The servers never touch a Maildir as root: as root, the demo mailbox
# belongs to nobody.
uid=$(id -u) gid=$(id -g)
if [ "$uid" = 0 ]; then uid=65534 gid=65534; fi
mkdir -p "$DEMO/home/demo/Maildir/tmp" "$DEMO/home/demo/Maildir/new" "$DEMO/home/demo/Maildir/cur"
chmod 700 "$DEMO/home/demo/Maildir" "$DEMO/home/demo/Maildir/tmp" "$DEMO/home/demo/Maildir/new" "$DEMO/home/demo/Maildir/cur"
# {PLAIN} keeps the demo readable; use {BLF-CRYPT} or {ARGON2ID} for
# real users (see docs/users.md).
printf 'demo:{PLAIN}demo:%s:%s:Demo User:%s::userdb_mail=maildir:~/Maildir\n' "$uid" "$gid" "$DEMO/home/demo" > "$DEMO/users"
chmod 644 "$DEMO/users"
if [ "$(id -u)" = 0 ]; then chown -R "$uid:$gid" "$DEMO/home"; fi

# As root, run the servers as the demo mailbox's owner: a server for
# many users' Maildirs runs as the mail user, never as root.
as=
if [ "$(id -u)" = 0 ]; then as="setpriv --reuid=$uid --regid=$gid --clear-groups"; fi

pids=
trap 'kill $pids 2>/dev/null; wait' INT TERM EXIT
$as bin/smtpd --listen "127.0.0.1:$SMTP_PORT" --users "$DEMO/users" --hostname localhost & pids="$pids $!"
$as bin/pop3d --listen "127.0.0.1:$POP3_PORT" --users "$DEMO/users" --hostname localhost & pids="$pids $!"
$as bin/imapd --listen "127.0.0.1:$IMAP_PORT" --users "$DEMO/users" & pids="$pids $!"
echo "mailtk demo: SMTP 127.0.0.1:$SMTP_PORT, POP3 127.0.0.1:$POP3_PORT, IMAP 127.0.0.1:$IMAP_PORT; user demo, password demo; Ctrl-C stops"
wait
