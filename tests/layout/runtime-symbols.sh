#!/bin/sh
# runtime-symbols.sh NM BINARY: isc-runtime carries none of the host side.
# Fails when `nm BINARY` shows a symbol of the image store, the audit
# collector or trail, the private network, the plan, the host or iscd (the
# patterns below), or lacks the runtime's own symbols (a stripped or wrong
# binary would otherwise pass).
set -u
nm_prog=$1
bin=$2
syms=$("$nm_prog" "$bin" 2>&1) || { echo "FAIL: $nm_prog $bin: $syms"; exit 1; }
# name patterns (extended regular expressions on nm's symbol column); not
# ^archive_ alone: a static glibc has an archive_stat of its own (locales)
forbidden='
store       ^isc_image_(config|import|list|manifest_build|name_check|path_clean|remove|resolve|rm_tree|state_set_config|store_|verify)
collector   ^isc_audit_(collector_|host_register|host_unregister|id_assign|id_release)
records     ^isc_audit_(asm_|record_|field|names_|event_|execve|time|unhex)
trail       ^(isc_trail_|isc_hmac_sha)
network     ^(isc_net_|isc_netns_|isc_nl_|isc_fw_|isc_ipam_|isc_subnet_|isc_pktlog_|isc_cpumask_|mnl_|nft_|nflog_)
plan        ^(isc_plan_|isc_volume_|isc_boot_id)
host        ^(isc_host_|isc_lab_|isc_idmap_|isc_idrange_)
supervisor  ^(isc_supervisor_|isc_sv_|isc_ctl_)
libarchive  ^archive_(read|write|entry)_
'
names=$(printf '%s\n' "$syms" | awk 'NF >= 2 { print $NF }')
bad=0
while read -r what pattern; do
  [ -n "$what" ] || continue
  found=$(printf '%s\n' "$names" | grep -E "$pattern" | head -n 5)
  if [ -n "$found" ]; then
    echo "FAIL: isc-runtime carries $what symbols:" $found
    bad=1
  fi
done <<EOT
$forbidden
EOT
# the positive control: the runtime's own code is there
for want in isc_container_create isc_image_quick_check isc_audit_login isc_spec_parse; do
  if ! printf '%s\n' "$names" | grep -qx "$want"; then
    echo "FAIL: $want is missing from $bin (not isc-runtime, or stripped?)"
    bad=1
  fi
done
[ "$bad" -eq 0 ] && echo "ok: isc-runtime has no store, collector, trail, network, plan, host or supervisor symbol"
exit "$bad"
