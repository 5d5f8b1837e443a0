#!/usr/bin/env python3
"""Write the text corpus of bench/mimeenc: LF-terminated word lines of
about 62 bytes, with about 8% of the bytes in two-byte UTF-8 sequences
(é, ï), some '=', tabs and trailing spaces. Seeded, so every run gets the
same bytes. Usage: gentext.py OUT MIB"""
import random, sys

out, mib = sys.argv[1], int(sys.argv[2])
rng = random.Random(8)
words = ["mail", "toolkit", "message", "quoted", "printable", "the", "of", "and",
         "delivery", "queue", "header", "body", "relay", "a=b", "x", "\t"]
accented = ["café", "naïve", "élève", "réseau", "ïle"]
size = mib << 20
with open(out, "wb") as f:
    n = 0
    while n < size:
        line = []
        length = 0
        while length < 58:
            w = rng.choice(accented) if rng.random() < 0.2 else rng.choice(words)
            line.append(w)
            length += len(w) + 1
        s = " ".join(line)
        if rng.random() < 0.05:
            s += " "
        b = (s + "\n").encode()
        f.write(b)
        n += len(b)
    f.truncate(size)
