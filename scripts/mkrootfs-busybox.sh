#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# mkrootfs-busybox.sh DEST: build a minimal busybox-static root filesystem.
#
# DEST gets bin/busybox, a symlink per applet (from `busybox --list`),
# etc/passwd and etc/group (root and nobody), etc/hostname, the empty
# mount points proc, sys, dev, run, tmp, and /www/index.html for httpd.
# Idempotent: run it again on the same DEST and it only fills in what is
# missing.  BUSYBOX=/path/to/busybox overrides Debian's /bin/busybox.
set -eu

usage() {
    echo "usage: $0 DEST" >&2
    exit 2
}

[ $# -eq 1 ] || usage
dest=$1
busybox=${BUSYBOX:-/bin/busybox}

if [ ! -x "$busybox" ]; then
    echo "$0: $busybox not found (apt-get install busybox-static)" >&2
    exit 1
fi
# A dynamically linked busybox would not run in an empty rootfs.
if command -v file >/dev/null 2>&1 && ! file -L "$busybox" | grep -q 'statically linked'; then
    echo "$0: $busybox is not statically linked (apt-get install busybox-static)" >&2
    exit 1
fi

mkdir -p "$dest"
cd "$dest"

# scratch and persist: the mount points of an ISC (encrypted scratch, persistent data)
for d in bin sbin usr/bin usr/sbin etc proc sys dev run tmp var/tmp root www home mnt scratch persist; do
    mkdir -p "$d"
done
chmod 0755 . bin sbin usr usr/bin usr/sbin etc proc sys dev run var root www home mnt scratch persist
chmod 1777 tmp var/tmp

# Copy, not link: the rootfs must not share an inode with the host binary.
if ! cmp -s "$busybox" bin/busybox 2>/dev/null; then
    cp "$busybox" bin/busybox.tmp
    chmod 0755 bin/busybox.tmp
    mv -f bin/busybox.tmp bin/busybox
fi

# `busybox --list-full` gives paths like usr/bin/env; fall back to --list.
if list=$("$busybox" --list-full 2>/dev/null); then
    :
else
    list=$("$busybox" --list | sed 's|^|bin/|')
fi
for applet in $list; do
    name=${applet##*/}
    dir=${applet%/*}
    [ "$name" = busybox ] && continue
    [ "$dir" = "$applet" ] && dir=bin
    mkdir -p "$dir"
    if [ ! -e "$dir/$name" ] && [ ! -L "$dir/$name" ]; then
        # relative link so it works both inside and outside the container
        case "$dir" in
            bin) target=busybox ;;
            sbin) target=../bin/busybox ;;
            usr/bin|usr/sbin) target=../../bin/busybox ;;
            *) target=/bin/busybox ;;
        esac
        ln -s "$target" "$dir/$name"
    fi
done

write_if_changed() {
    # write_if_changed FILE CONTENT
    if [ ! -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then
        printf '%s\n' "$2" >"$1.tmp"
        chmod 0644 "$1.tmp"
        mv -f "$1.tmp" "$1"
    fi
}

write_if_changed etc/passwd 'root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false'
write_if_changed etc/group 'root:x:0:
nogroup:x:65534:
nobody:x:65534:'
write_if_changed etc/hostname 'isc'
# mount points for the resolv.conf a host's network generates (a read-only
# root cannot get new mount points)
write_if_changed etc/resolv.conf ''
write_if_changed etc/hosts '127.0.0.1 localhost
::1 localhost'
write_if_changed www/index.html '<html><body>isc busybox rootfs</body></html>'
