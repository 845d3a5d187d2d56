#!/bin/sh
# Stage 1 inside the runtime root filesystem (after the initramfs switched to it): kernel
# filesystems, then the guest agent under tini (PID 1 must reap orphaned processes).
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
# Benchmark hook, unused by the CRN: `aleph.bare_init=<serial>` mounts the squashfs drive with
# that virtio-blk serial at /opt/bare and runs its `init` script instead of the agent. That is the
# bare boot cold starts are measured against (packages/cli/src/bench/bare-boot.ts).
for v in $(cat /proc/cmdline); do
  case "$v" in aleph.bare_init=*) bare="${v#aleph.bare_init=}" ;; esac
done
if [ -n "$bare" ]; then
  for d in /sys/block/vd*; do [ "$(cat "$d/serial" 2>/dev/null)" = "$bare" ] && dev="/dev/${d##*/}"; done
  echo "aleph-init: bare init from ${dev:-no drive with serial $bare}"
  mkdir -p /opt/bare && mount -t squashfs -o ro "$dev" /opt/bare && exec /bin/sh /opt/bare/init
fi
echo "aleph-init: starting agent"
exec /usr/bin/tini -s -- /usr/bin/node /opt/aleph/agent.mjs
