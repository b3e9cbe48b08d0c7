#!/usr/bin/env bash
# The main job: install, build, and show a hardened container run through
# isc-runtime, the OCI runtime every ISC stands on.  (The ISC host with its
# lab network and audit trail comes with `isc init`; until then the demo
# shows the hardened runtime.)  Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "install dependencies and build"
scripts/install-deps.sh
scripts/build.sh

rt="$root/build/src/runtime/isc-runtime"
work=$(mktemp -d /tmp/isc-demo.XXXXXX)
state="$work/state"
id="isc-demo-$$"
cleanup() {
  "$rt" --root "$state" delete --force "$id" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

say "a busybox-static root filesystem and the hardened default bundle"
scripts/mkrootfs-busybox.sh "$work/bundle/rootfs" >/dev/null
chmod 755 "$work" "$work/bundle"
(cd "$work/bundle" && "$rt" spec)
# The default config is hardened: read-only root, every namespace (user:
# container root is host uid 100000), minimal capabilities, no_new_privs, a
# seccomp allowlist, masked /proc, read-only /sys.  Give it a script to run.
/usr/bin/python3 - "$work/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["args"] = ["/bin/sh", "-c", """
echo "hello from $(hostname): uid=$(id -u) gid=$(id -g)"
grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status
echo -n 'uid map: '; cat /proc/self/uid_map
echo -n 'write to /: '; (echo x > /x) 2>&1 || true
echo -n 'write to /proc/sys: '; (echo 1 > /proc/sys/kernel/ostype) 2>&1 || true
echo -n 'mount: '; mount -t tmpfs none /mnt 2>&1 || true
echo -n '/tmp is writable: '; echo ok > /tmp/ok && cat /tmp/ok
echo "processes visible: $(ls -d /proc/[0-9]* | wc -l)"
echo secret > /scratch/note && echo "encrypted scratch: /scratch holds '$(cat /scratch/note)' (fscrypt, key only in the kernel, gone at delete)"
"""]
c.setdefault("annotations", {})["org.isc.scratch"] = "size=16m,path=/scratch"
c["linux"]["cgroupsPath"] = "isc-demo"
c["linux"].setdefault("resources", {})["pids"] = {"limit": 64}
json.dump(c, open(p, "w"), indent=2)
PY

say "isc-runtime run (foreground; the container's exit status is ours)"
"$rt" --root "$state" run --bundle "$work/bundle" "$id"

say "create / state / start / kill / delete"
sed -i 's|"/bin/sh",|"/bin/sleep", "30", "/bin/sh",|' "$work/bundle/config.json"
/usr/bin/python3 - "$work/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p)); c["process"]["args"] = ["/bin/sleep", "30"]
json.dump(c, open(p, "w"), indent=2)
PY
"$rt" --root "$state" create --bundle "$work/bundle" "$id"
"$rt" --root "$state" state "$id" | grep -E '"(id|status|pid)"'
"$rt" --root "$state" start "$id"
"$rt" --root "$state" state "$id" | grep -E '"status"'
"$rt" --root "$state" kill "$id" KILL
sleep 0.2
"$rt" --root "$state" state "$id" | grep -E '"status"'
"$rt" --root "$state" delete "$id"
"$rt" --root "$state" list

say "bad input gets a clear error"
"$rt" --root "$state" state no-such-container || true
echo '{"ociVersion": "1.2.0", "process": {"args": "sh"}, "root": {"path": "rootfs"}}' > "$work/bundle/config.json"
"$rt" --root "$state" create --bundle "$work/bundle" bad || true
say "done"
