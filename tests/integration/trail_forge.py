#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Test helper: what an attacker with root can do to a trail (docs/audit.md):
replace OLD by NEW in the first record holding it, then recompute the hash
chain from there on and every MAC with the key in seal.state (the current
one), and patch seal.state's last hash.  isc audit verify --key must still
find the first rewritten record of a sealed epoch.
Usage: trail_forge.py AUDIT_DIR OLD NEW"""
import hashlib
import hmac
import json
import sys

d, old, new = sys.argv[1:4]
with open(d + "/seal.state") as f:
    state = json.loads(f.read())
key = bytes.fromhex(state["key"])
path = d + "/trail.jsonl"
with open(path) as f:
    lines = f.read().splitlines()
SUFFIX = 9 + 64 + 9 + 64 + 2
start = next(i for i, l in enumerate(lines) if old in l)
prev = bytes.fromhex(lines[start - 1][-SUFFIX + 9:-SUFFIX + 9 + 64])
lines[start] = lines[start].replace(old, new)
for i in range(start, len(lines)):
    body = lines[i][:-SUFFIX]
    h = hashlib.sha256(prev + body.encode() + b"}").digest()
    m = hmac.new(key, h, hashlib.sha256).hexdigest()
    lines[i] = '%s,"hash":"%s","mac":"%s"}' % (body, h.hex(), m)
    prev = h
with open(path, "w") as f:
    f.write("".join(l + "\n" for l in lines))
with open(d + "/seal.state", "r+") as f:
    raw = f.read()
    raw = raw.replace(state["hash"], prev.hex())
    f.seek(0)
    f.write(raw)
