#!/bin/sh
# isc start-time and memory benchmark. Usage: bench/run.sh [--quick] [start.py options]
# Needs root, gcc, crun, runc, bubblewrap, util-linux unshare, python3-seccomp and
# golang-github-containers-common (for /usr/share/containers/seccomp.json).
# Builds nothing of the project: uses build/src/runtime/isc-runtime (or $ISC_RUNTIME) if present.
exec /usr/bin/python3 "$(dirname "$0")/start.py" "$@"
