#!/usr/bin/python3
"""A qmail checkpassword program for tests: user mrc, password secret,
home directory argv[1]; runs the next program (argv[2:]) on success."""
import os
import sys

data = b""
while True:
    chunk = os.read(3, 512)
    if not chunk:
        break
    data += chunk
fields = data.split(b"\0")
if len(fields) >= 2 and fields[0] == b"mrc" and fields[1] == b"secret":
    os.environ["HOME"] = sys.argv[1]
    os.environ["USER"] = "mrc"
    os.execvp(sys.argv[2], sys.argv[2:])
sys.exit(1)
