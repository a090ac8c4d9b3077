#!/usr/bin/env python3
"""One-off (issue 9): move the *InternalService protos into their own proto
packages, latchkey.internalapi.<service>.v1. Run from the repository root,
then `make generate`, then rewrite_go.py. Delete this folder once every
branch that predates the move is merged."""
import os, re, subprocess

SERVICES = ["account", "credential", "mfa", "notification", "recovery"]

def public_names(svc):
    names = set()
    d = f"proto/latchkey/{svc}/v1"
    for f in os.listdir(d):
        if f.endswith(".proto") and not f.endswith("_internal.proto"):
            for m in re.finditer(r"^(?:message|enum) (\w+)", open(os.path.join(d, f)).read(), re.M):
                names.add(m.group(1))
    return names

for svc in SERVICES:
    old = f"proto/latchkey/{svc}/v1/{svc}_internal.proto"
    if not os.path.exists(old):
        continue
    new = f"proto/latchkey/internalapi/{svc}/v1/{svc}_internal.proto"
    os.makedirs(os.path.dirname(new), exist_ok=True)
    subprocess.run(["git", "mv", old, new], check=True)
    s = open(new).read()
    s = s.replace(f"package latchkey.{svc}.v1;", f"package latchkey.internalapi.{svc}.v1;")
    s = re.sub(r'option go_package = "[^"]*";',
               f'option go_package = "github.com/latchkey/latchkey/proto/gen/latchkey/internalapi/{svc}/v1;{svc}internalv1";', s)
    pub = public_names(svc)
    def qualify(m):
        lead, typ, rest = m.group(1), m.group(2), m.group(3)
        head = typ.split(".")[0]
        if head in pub:
            typ = f"latchkey.{svc}.v1.{typ}"
        return lead + typ + rest
    # field types: "  [repeated|optional] Type name = N"; rpc signatures.
    s = re.sub(r"^(\s+(?:repeated |optional )?)([A-Z][\w.]*)( \w+ = \d+)", qualify, s, flags=re.M)
    s = re.sub(r"(rpc \w+\()([A-Z][\w.]*)(\))", qualify, s)
    s = re.sub(r"(returns \()([A-Z][\w.]*)(\))", qualify, s)
    open(new, "w").write(s)
    print("moved", old, "->", new)
