#!/bin/sh
# podman run start-time benchmark: isc-runtime vs runc vs crun as podman's OCI runtime.
# Usage: bench/run-podman.sh [--quick] [podman.py options]. See bench/README.md, "podman run".
# Needs root, gcc, podman, conmon, crun, runc, util-linux unshare, busybox-static.
# Builds nothing of the project: uses build/src/runtime/isc-runtime (or $ISC_RUNTIME) if present.
exec /usr/bin/python3 "$(dirname "$0")/podman.py" "$@"
