"""Python imaplib against imapd on a pipe (IMAP4_stream): LOGIN, LIST,
CREATE, APPEND with flags and date, SEARCH (header, body, RFC 2047, UTF-8),
COPY and MOVE with UIDPLUS, STORE, EXPUNGE, STATUS, and IDLE noticing a
delivery by another process. Usage: imaplib_session.py IMAPD_COMMAND.
Prints "ok" at the end; any failure raises."""
import imaplib
import sys
import time

cmd = sys.argv[1]
M = imaplib.IMAP4_stream(cmd)
assert M.state == "NONAUTH", M.state
typ, _ = M.login("mrc", "secret")
assert typ == "OK"

typ, data = M.create("Archive")
assert typ == "OK", data
typ, data = M.list()
names = b"\n".join(data)
assert b'"." INBOX' in names and b"\\Archive" in names, names

msg1 = (b"From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\n"
        b"Subject: =?utf-8?b?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Sch=C3=B6ne Gr=C3=BC=C3=9Fe, the quarterly REPORT is attached.\r\n")
msg2 = b"From: a@example.org\r\nSubject: lunch\r\n\r\nsee you at noon\r\n"
typ, data = M.append("INBOX", r"(\Flagged $Work)", imaplib.Time2Internaldate(time.time()), msg1)
assert typ == "OK" and b"APPENDUID" in data[0], data
typ, data = M.append("INBOX", None, None, msg2)
assert typ == "OK" and b"APPENDUID" in data[0], data

typ, data = M.select("INBOX")
assert typ == "OK" and data[0] == b"2", data

def search(*crit):
    typ, data = M.search("UTF-8", *crit)
    assert typ == "OK", data
    return data[0].split()

assert search("FROM", '"jurgen"') == [], "no match without the umlaut"
assert search("FROM", '"J\u00fcrgen"'.encode()) == [b"1"]
assert search("SUBJECT", '"k\u00f6ln"'.encode()) == [b"1"], "RFC 2047 subject, case-folded"
assert search("BODY", '"sch\u00f6ne gr\u00fc\u00dfe"'.encode()) == [b"1"], "quoted-printable body"
assert search("BODY", "report") == [b"1"]
assert search("TEXT", "noon") == [b"2"]
assert search("KEYWORD", "$Work") == [b"1"]
assert search("FLAGGED") == [b"1"]
assert search("NOT", "FLAGGED") == [b"2"]
assert search("OR", "SUBJECT", "lunch", "FLAGGED") == [b"1", b"2"]
assert search("LARGER", "100") == [b"1"]

typ, data = M.uid("COPY", "1:*", "Archive")
assert typ == "OK", data
typ, data = M.fetch("1", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
assert b"$Work" in data[0][0] and b"\\Flagged" in data[0][0], data

typ, data = M.uid("MOVE", "2", "Archive")
assert typ == "OK", data
typ, data = M.status("Archive", "(MESSAGES UIDNEXT UNSEEN)")
assert typ == "OK" and b"MESSAGES 3" in data[0] and b"UIDNEXT 4" in data[0], data

typ, data = M.store("1", "+FLAGS", r"(\Deleted)")
assert typ == "OK"
typ, data = M.expunge()
assert typ == "OK" and data[-1] == b"1", data  # "* 2 EXPUNGE" of the MOVE comes first

# IDLE: tell the test we are idling, then wait for the EXISTS of the
# message it delivers.
tag = M._new_tag()
M.send(tag + b" IDLE\r\n")
line = M.readline()
assert line.startswith(b"+"), line
print("IDLING", flush=True)
start = time.monotonic()
while True:
    line = M.readline()
    if line.endswith(b"EXISTS\r\n"):
        break
print("noticed %.3f" % (time.monotonic() - start), flush=True)
M.send(b"DONE\r\n")
while not M.readline().startswith(tag):
    pass
M.logout()
print("ok")
