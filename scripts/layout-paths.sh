#!/usr/bin/env bash
# layout-paths.sh [FILE...]: rewrite what a branch started before the
# one-folder-per-library layout (issue 12) still says the old way:
#   #include "util.h"             -> #include "base/util.h"  (src/, tests/ C files)
#   src/lib/mount.c in a patch     -> src/lib/kernel/rootfs.c (tests/mutants/*.patch)
# Without FILE: every tracked C file under src/ and tests/, and every mutant
# patch.  Run it after merging such a branch, then rebuild.  Temporary: remove
# once the branches of that time are merged.
set -euo pipefail
cd "$(dirname "$0")/.."
# old name -> new path (below src/lib)
map='
audit-client.h audit/audit-client.h
audit-id.h audit/audit-id.h
audit-record.h audit/audit-record.h
trail.h audit/trail.h
audit-client.c audit/audit-client.c
audit-id.c audit/audit-id.c
audit-record.c audit/audit-record.c
trail.c audit/trail.c
error.h base/error.h
escape.h base/escape.h
log.h base/log.h
sha256.h base/sha256.h
signals.h base/signals.h
sync.h base/sync.h
util.h base/util.h
error.c base/error.c
escape.c base/escape.c
log.c base/log.c
sha256.c base/sha256.c
signals.c base/signals.c
sync.c base/sync.c
util.c base/util.c
host.h host/host.h
idmap.h host/idmap.h
idrange-internal.h host/idrange-internal.h
lab.h host/lab.h
host.c host/host.c
idmap.c host/idmap.c
idrange.c host/idrange.c
lab.c host/lab.c
image.h image/image.h
supervise.h iscd/supervise.h
supervise.c iscd/supervise.c
caps.h kernel/caps.h
cgroup-internal.h kernel/cgroup-internal.h
cgroup.h kernel/cgroup.h
exeseal.h kernel/exeseal.h
landlock.h kernel/landlock.h
ns.h kernel/ns.h
rootfs-internal.h kernel/rootfs-internal.h
rootfs.h kernel/rootfs.h
scratch.h kernel/scratch.h
seccomp.h kernel/seccomp.h
terminal.h kernel/terminal.h
caps.c kernel/caps.c
cgroup-v1.c kernel/cgroup-v1.c
cgroup-v2.c kernel/cgroup-v2.c
cgroup.c kernel/cgroup.c
dev.c kernel/dev.c
exeseal.c kernel/exeseal.c
landlock.c kernel/landlock.c
ns.c kernel/ns.c
scratch.c kernel/scratch.c
seccomp.c kernel/seccomp.c
terminal.c kernel/terminal.c
firewall.h net/firewall.h
ipam.h net/ipam.h
net.h net/net.h
netlink.h net/netlink.h
pktlog.h net/pktlog.h
firewall.c net/firewall.c
ipam.c net/ipam.c
net.c net/net.c
netlink.c net/netlink.c
pktlog.c net/pktlog.c
plan.h plan/plan.h
volume.h plan/volume.h
plan.c plan/plan.c
volume.c plan/volume.c
container.h runtime/container.h
control.h runtime/control.h
exec.h runtime/exec.h
hooks.h runtime/hooks.h
relay.h runtime/relay.h
state.h runtime/state.h
container.c runtime/container.c
control.c runtime/control.c
exec.c runtime/exec.c
hooks.c runtime/hooks.c
relay.c runtime/relay.c
state.c runtime/state.c
spec.h spec/spec.h
mountopt.c spec/mountopt.c
spec-default.c spec/spec-default.c
spec.c spec/spec.c
ctl.h iscd/protocol.h
ctl.c iscd/protocol.c
mount.c kernel/rootfs.c
image.c image/store.c
image-import.c image/import.c
'
if [ "$#" -gt 0 ]; then files=("$@"); else
  mapfile -t files < <(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h' 'tests/mutants/*.patch')
fi
script=
while read -r old new; do
  [ -n "$old" ] || continue
  o=${old//./\\.}
  case "$old" in
    *.h) script+="s#^\\([[:space:]]*\\#[[:space:]]*include[[:space:]]*\"\\)$o\"#\\1$new\"#;" ;;
  esac
  script+="s#\\([ab]/\\)src/lib/$o\\b#\\1src/lib/$new#g;"
done <<<"$map"
sed -i "$script" "${files[@]}"
