#!/bin/sh
# `isc run -d` vs `podman run -d --read-only` start time. See bench/README.md, "isc run".
exec /usr/bin/python3 "$(dirname "$0")/isc_run.py" "$@"
