#!/usr/bin/env bash
# Install everything isc needs to build, test, benchmark and demo, from
# Debian's packages.  Idempotent: does nothing when all are present.
set -euo pipefail

packages=(
  # build
  gcc libc6-dev meson ninja-build pkg-config
  libseccomp-dev libjansson-dev libarchive-dev
  # the private network (rtnetlink, nftables, NFLOG packet log)
  libmnl-dev libnftables-dev libnetfilter-log-dev nftables
  # tests, sanitizers, static analysis, fuzzing
  libcmocka-dev python3-pytest clang clang-tidy clang-format cppcheck libclang-rt-14-dev
  # a per-test timeout (tests/integration/pytest.ini): nothing hangs
  python3-pytest-timeout
  # a bounded CPU hog to run the suite beside (the tests hold whatever the
  # scheduling: stress-ng --cpu 2 --timeout ...)
  stress-ng
  # realistic payloads and lab tools
  busybox-static iproute2 util-linux e2fsprogs strace
  # lab traffic and syslog delivery checks, network throughput bench
  curl rsyslog iperf3 conntrack
  # the runtimes we compare against in bench/
  crun runc bubblewrap python3-seccomp
  # real clients of the runtime (tests/integration/test_podman.py,
  # test_containerd.py): podman 4.3 drives it through conmon, containerd
  # 1.6 (ctr, containerd-shim-runc-v2) through the runc v2 shim.  Without
  # recommends: no slirp4netns/fuse-overlayfs/buildah, the tests use
  # --network none and podman's native overlay driver.
  podman conmon containerd golang-github-containers-common
  # Docker 20.10: tests/integration/test_docker.py runs a private dockerd in
  # a network namespace of its own.  Its postinst asks invoke-rc.d to start
  # the machine's dockerd: policy-rc.d (exit 101) must refuse that here.
  docker.io
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: must run as root to install packages" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
