#!/bin/sh
# Extra time the private network adds to a container start, and TCP throughput through
# NAT vs a plain veth pair. See bench/README.md, "network". Needs root; works only in
# namespaces it creates.
exec /usr/bin/python3 "$(dirname "$0")/net.py" "$@"
