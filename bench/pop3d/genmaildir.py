#!/usr/bin/env python3
# Fill a Maildir's new/ with COUNT messages of about SIZE bytes, named as
# maildir.Deliver names them (with ,S= and ,W= sizes). Seeded: the same
# arguments give the same messages. No fsync: this is a benchmark fixture.
# Usage: genmaildir.py MAILDIR COUNT SIZE
import os, random, sys

path, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for sub in ("tmp", "new", "cur"):
    os.makedirs(os.path.join(path, sub), mode=0o700, exist_ok=True)
rnd = random.Random(count * 7919 + size)
words = ["mail", "toolkit", "maildir", "pop3", "message", "line", "the", "a", "of", ".dot", "and", "retr"]
base = 1700000000
for i in range(count):
    lines = ["From: sender%d@example.org" % i, "To: user@example.net", "Subject: message %d" % i,
             "Message-ID: <%d@bench.example>" % i, ""]
    n = sum(len(l) + 1 for l in lines)
    while n < size:
        l = " ".join(rnd.choice(words) for _ in range(rnd.randint(3, 14)))
        lines.append(l)
        n += len(l) + 1
    body = ("\n".join(lines) + "\n").encode()
    s, w = len(body), len(body) + body.count(b"\n")
    name = "%d.M%dP1Q%dRbench.bench,S=%d,W=%d" % (base + i // 1000, i % 1000, i, s, w)
    with open(os.path.join(path, "new", name), "wb") as f:
        f.write(body)
