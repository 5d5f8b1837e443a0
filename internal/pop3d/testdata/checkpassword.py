#!/usr/bin/env python3
# A checkpassword program for tests (https://cr.yp.to/checkpwd/interface.html):
# reads "user\0password\0timestamp\0" from fd 3, accepts cousin/secret
# (exit 1 otherwise, 111 for user "tempfail"), sets HOME to its first
# argument and runs the rest of its arguments.
# Usage: checkpassword.py HOME prog...
import os, sys

data = os.read(3, 513).split(b"\0")
user, password = data[0], data[1] if len(data) > 1 else b""
if user == b"tempfail":
    sys.exit(111)
if user != b"cousin" or password != b"secret":
    sys.exit(1)
os.environ["HOME"] = sys.argv[1]
os.environ["USER"] = "cousin"
os.execvp(sys.argv[2], sys.argv[2:])
