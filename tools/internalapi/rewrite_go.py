#!/usr/bin/env python3
"""One-off (issue 9): after move_protos.py and `make generate`, point every Go
file at the internal packages for what moved there: accountv1.ResolveLoginRequest
becomes accountinternalv1.ResolveLoginRequest, with the import added and the
old one dropped when nothing else uses it. Re-run it after merging a branch
that predates the move (it is idempotent), then gofmt. Run from the
repository root."""
import os, re, subprocess, sys

MOD = "github.com/latchkey/latchkey/proto/gen/latchkey"
SERVICES = ["account", "credential", "mfa", "notification", "recovery"]

def exported(dirpath):
    out = set()
    for f in os.listdir(dirpath):
        if f.endswith(".go"):
            src = open(os.path.join(dirpath, f)).read()
            out |= set(re.findall(r"^(?:type|func) ([A-Z]\w*)", src, re.M))
            for block in re.findall(r"^(?:const|var) \((.*?)^\)", src, re.M | re.S):
                out |= set(re.findall(r"^\t([A-Z]\w*)", block, re.M))
            out |= set(re.findall(r"^(?:const|var) ([A-Z]\w*)", src, re.M))
    return out

moved = {svc: exported(f"proto/gen/latchkey/internalapi/{svc}/v1") for svc in SERVICES
         if os.path.isdir(f"proto/gen/latchkey/internalapi/{svc}/v1")}
# Names the public package still has stay there.
for svc in list(moved):
    moved[svc] -= exported(f"proto/gen/latchkey/{svc}/v1")

files = subprocess.run(["git", "ls-files", "*.go"], capture_output=True, text=True, check=True).stdout.split()
files += subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "*.go"], capture_output=True, text=True, check=True).stdout.split()
changed = []
for path in files:
    if path.startswith(("proto/gen/", "gateway/gen/")):
        continue
    src = open(path).read()
    orig = src
    for svc, names in moved.items():
        pub_path, int_path = f"{MOD}/{svc}/v1", f"{MOD}/internalapi/{svc}/v1"
        m = re.search(r'^\s*(\w+ )?"' + re.escape(pub_path) + r'"\s*$', src, re.M)
        if not m:
            continue
        alias = (m.group(1) or f"{svc}v1 ").strip()
        new_alias = f"{svc}internalv1"
        pat = re.compile(r"\b" + re.escape(alias) + r"\.([A-Z]\w*)")
        src2 = pat.sub(lambda x: (new_alias + "." + x.group(1)) if x.group(1) in names else x.group(0), src)
        if src2 == src:
            continue
        src = src2
        imp_line = m.group(0)
        add = f'\t{new_alias} "{int_path}"'
        if int_path not in src:
            src = src.replace(imp_line, imp_line + "\n" + add, 1)
        if not re.search(r"\b" + re.escape(alias) + r"\.", src):
            src = src.replace(imp_line + "\n", "", 1)
    if src != orig:
        open(path, "w").write(src)
        changed.append(path)
if changed:
    subprocess.run(["gofmt", "-w"] + changed, check=True)
print("\n".join(changed))
