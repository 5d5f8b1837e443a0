"""Drive an IMAP server with imaplib and print its view of the account as
JSON, so that two servers on one Maildir can be compared.

  imap_state.py ADDR-or-COMMAND ACTION...

ADDR is host:port; anything else is a command run as IMAP4_stream.
Actions: "setup" (Dovecot's changes), "change" (imapd's changes), "state"
(print the JSON). The user is mrc/secret."""
import imaplib
import json
import re
import sys

target = sys.argv[1]
if re.fullmatch(r"[0-9.]+:[0-9]+", target):
    host, port = target.split(":")
    M = imaplib.IMAP4(host, int(port))
else:
    M = imaplib.IMAP4_stream(target)
M.login("mrc", "secret")


def ok(r):
    typ, data = r
    assert typ == "OK", (typ, data)
    return data


def msg(subject, body="hello"):
    return ("From: a@example.org\r\nSubject: %s\r\n\r\n%s\r\n" % (subject, body)).encode()


for action in sys.argv[2:]:
    if action == "setup":
        ok(M.create("Lists.go"))
        ok(M.create("Sent"))
        ok(M.append("INBOX", r"(\Seen)", None, msg("one")))
        ok(M.append("INBOX", r"($Label1)", None, msg("two")))
        ok(M.append("INBOX", None, None, msg("three")))
        ok(M.append("INBOX", r"(\Answered \Flagged)", None, msg("four")))
        ok(M.append("Lists.go", r"(\Seen $Label2)", None, msg("list post")))
        ok(M.select("INBOX"))
        ok(M.uid("STORE", "3", "+FLAGS", r"(\Draft)"))
        ok(M.logout() and ("OK", None))
        M = None
        break
    if action == "change":
        ok(M.select("INBOX"))
        ok(M.uid("STORE", "2", "+FLAGS", r"(\Flagged $Label3)"))
        ok(M.uid("STORE", "1", "-FLAGS", r"(\Seen)"))
        ok(M.uid("STORE", "3", "+FLAGS", r"(\Deleted)"))
        ok(M.expunge())
        ok(M.append("INBOX", r"(\Seen $Label2)", None, msg("from imapd")))
        ok(M.create("Archive"))
        ok(M.rename("Sent", "Old.Sent"))
        ok(M.uid("COPY", "1", "Lists.go"))
        continue
    if action == "state":
        state = {}
        typ, data = M.list()
        names = []
        for line in data:
            m = re.match(rb'\(([^)]*)\) "(.)" (.*)', line)
            name = m.group(3).decode().strip('"')
            if "\\NonExistent" in m.group(1).decode() or "\\Noselect" in m.group(1).decode():
                continue
            names.append(name)
        for name in sorted(names):
            typ, data = M.select('"%s"' % name, readonly=True)
            assert typ == "OK", (name, data)
            validity = M.response("UIDVALIDITY")[1][0].decode()
            uidnext = M.response("UIDNEXT")[1][0].decode()
            msgs = []
            if int(data[0]) > 0:
                for item in ok(M.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE)")):
                    if isinstance(item, tuple):
                        item = item[0]
                    m = re.search(rb"UID (\d+)", item)
                    f = re.search(rb"FLAGS \(([^)]*)\)", item)
                    s = re.search(rb"RFC822.SIZE (\d+)", item)
                    flags = sorted(x for x in f.group(1).decode().split() if x != "\\Recent")
                    msgs.append([int(m.group(1)), flags, int(s.group(1))])
            state[name] = {"uidvalidity": validity, "uidnext": uidnext, "messages": sorted(msgs)}
        print(json.dumps(state, sort_keys=True))
if M is not None:
    M.logout()
