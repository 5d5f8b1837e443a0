# A POP3 session with Python's poplib against pop3d: STLS, CAPA before
# and after, AUTH PLAIN as raw commands (poplib has no AUTH), STAT, LIST,
# UIDL, TOP, RETR of every message (written to OUTDIR/<n> with LF line
# ends), DELE 1, QUIT. Prints a JSON summary.
# Usage: python3 poplib_client.py HOST PORT USER PASSWORD OUTDIR
import base64, json, poplib, ssl, sys

host, port, user, password, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
p = poplib.POP3(host, port, timeout=30)
out = {"welcome": p.getwelcome().decode()}
out["capaplain"] = sorted(p.capa().keys())
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
p.stls(ctx)
caps = p.capa()
out["capatls"] = sorted(caps.keys())
out["sasl"] = caps.get("SASL", [])
cred = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
out["auth"] = p._shortcmd("AUTH PLAIN " + cred).decode()
out["stat"] = list(p.stat())
resp, listing, _ = p.list()
out["list"] = [l.decode() for l in listing]
resp, uidls, _ = p.uidl()
out["uidl"] = [l.decode() for l in uidls]
out["octets"] = []
for i in range(1, out["stat"][0] + 1):
    resp, lines, octets = p.retr(i)
    with open("%s/%d" % (outdir, i), "wb") as f:
        f.write(b"".join(l + b"\n" for l in lines))
    out["octets"].append(octets)
resp, lines, _ = p.top(1, 1)
out["top"] = [l.decode("latin-1") for l in lines]
out["dele"] = p.dele(1).decode()
out["quit"] = p.quit().decode()
print(json.dumps(out))
