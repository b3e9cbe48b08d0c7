#!/usr/bin/env bash
# The main job: install, build, and show an ISC host in a lab.
#
#   isc --lab demo init        an ISC host inside two network namespaces this
#                              script's isc creates (the host, the outside
#                              world); the machine's own network is never touched
#   isc image import           the busybox image, content-addressed, read-only
#   isc run --expose ...       a real service (busybox httpd serving a read-only
#                              volume) in a hardened container, exposed by NAT
#   isc lab exec -- curl ...   a client in the outside world fetches the page
#   isc ps / inspect / logs    the service's state and output
#   isc audit / packets        the audit trail and the packet log
#   isc --lab demo deinit      everything removed
#
# scripts/demo-runtime.sh shows isc-runtime alone (the OCI runtime). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

say "install dependencies and build"
scripts/install-deps.sh
scripts/build.sh

isc="$top/build/src/isc/isc"
lab="demo-$$"
work=$(mktemp -d /tmp/isc-demo.XXXXXX)
cleanup() {
  say "tear down: isc --lab $lab deinit"
  "$isc" --lab "$lab" deinit || true
  rm -rf "$work"
}
trap cleanup EXIT
export ISC_LAB="$lab"   # every isc command below acts on the lab

say "isc init: turn the lab's host into an ISC host"
show "$isc" init | tee "$work/init.out"
key=$(sed -n 's/.*isc audit verify --key \([0-9a-f]*\).*/\1/p' "$work/init.out")
show "$isc" lab info

say "the busybox image, and a read-only volume with the site"
scripts/mkrootfs-busybox.sh "$work/rootfs" >/dev/null
show "$isc" image import busybox "$work/rootfs"
mkdir -p "$work/site"
echo "<h1>served by an immutable service container</h1>" > "$work/site/index.html"
chmod -R a+rX "$work"

say "isc run: a real service on port 80, exposed on the host's address 192.0.2.2:8080"
show "$isc" run -d --name web --expose 8080:80 -v "$work/site:/www:ro" --memory 64m --pids-limit 64 \
  busybox httpd -f -v -p 80 -h /www
sleep 0.5

say "a client in the outside world fetches the page through the host's NAT"
show "$isc" lab exec -- curl -sS --max-time 5 http://192.0.2.2:8080/
say "an unexposed port does not answer (dropped, and logged)"
show "$isc" lab exec -- curl -sS --max-time 2 http://192.0.2.2:9090/ || echo "(no answer, as it should be)"

say "what the service may do: read-only root, encrypted scratch, /persist, nothing of the host"
show "$isc" exec web /bin/sh -c '
  echo -n "write to /: "; (echo x > /x) 2>&1 || true
  echo -n "write to the volume: "; (echo x > /www/x) 2>&1 || true
  echo "scratch: $(grep " /scratch " /proc/mounts | cut -d" " -f3,4)"
  echo secret > /scratch/note && echo "wrote /scratch/note (encrypted, key only in the kernel)"
  echo "uid map: $(cat /proc/self/uid_map)"
  grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status'

say "state and output"
show "$isc" ps
show "$isc" inspect web | head -30; echo "  ..." 
show "$isc" logs web

say "fail in place: the service's process is killed; iscd restarts it from its pristine image"
pid=$("$isc" inspect web | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["status"]["pid"])')
kill -KILL "$pid"
for _ in $(seq 50); do
  npid=$("$isc" inspect web | /usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["status"]; print(s.get("pid") if s.get("state")=="running" else "")')
  [ -n "$npid" ] && [ "$npid" != "$pid" ] && break
  sleep 0.2
done
show "$isc" ps
show "$isc" lab exec -- curl -sS --max-time 5 http://192.0.2.2:8080/

say "the audit trail: commands in the container, the exec session, the operator's actions"
show "$isc" audit --container web
show "$isc" audit --type admin
show "$isc" audit verify --key "$key"

say "the packet log: what the host dropped"
show "$isc" packets

say "stop and remove the service"
show "$isc" stop web
show "$isc" rm --purge web
