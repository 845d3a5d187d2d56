#!/bin/busybox sh
# Stage 0 of every microVM (busybox initramfs): load the virtio modules the kernel needs (they
# are modules in Debian's cloud kernel, listed in dependency order by the image build), find the
# runtime root filesystem by its virtio-blk serial, put a tmpfs overlay on top of it (writes live
# in RAM and vanish with the VM) and switch to it. Every step prints a line on the serial
# console: the host's boot watchdog reads them as progress.
# Instance mode (kernel argument `aleph.mode=instance`): the drive with the root serial is the
# instance's own ext4 disk instead; it is mounted read-write as it is (no overlay: writes
# persist) and systemd (/sbin/init) takes over.
/bin/busybox mkdir -p /bin /proc /sys /dev
/bin/busybox --install -s /bin
export PATH=/bin

fatal() {
  echo "aleph-initramfs: FATAL: $*"
  sleep 1
  poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "aleph-initramfs: loading modules"
for m in $(cat /modules/order); do
  insmod "/modules/$m.ko" || fatal "cannot load module $m"
done

# The KVM/TCG probe boots this initramfs alone: reaching here proves the accelerator works.
case " $(cat /proc/cmdline) " in
  *" aleph.probe=1 "*) echo "ALEPH-PROBE-OK"; poweroff -f ;;
esac

root_serial=aleph-root
mode=program
for v in $(cat /proc/cmdline); do
  case "$v" in
    aleph.root_serial=*) root_serial="${v#aleph.root_serial=}" ;;
    aleph.mode=*) mode="${v#aleph.mode=}" ;;
  esac
done

echo "aleph-initramfs: waiting for root drive $root_serial"
dev=""
i=0
while [ -z "$dev" ] && [ $i -lt 100 ]; do
  for d in /sys/block/vd*; do
    [ -e "$d/serial" ] || continue
    if [ "$(cat "$d/serial")" = "$root_serial" ]; then dev="/dev/${d##*/}"; fi
  done
  [ -n "$dev" ] || { sleep 0.05; i=$((i + 1)); }
done
[ -n "$dev" ] || fatal "no drive with serial $root_serial"

mkdir -p /lower /rw /newroot
if [ "$mode" = instance ]; then
  mount -t ext4 -o rw "$dev" /newroot || fatal "instance root disk on $dev is not an ext4 image"
  # /sbin/init is usually an absolute symlink (to systemd): test the link, not its target here.
  [ -x /newroot/sbin/init ] || [ -L /newroot/sbin/init ] || fatal "instance root disk has no /sbin/init"
  mount --move /dev /newroot/dev
  umount /sys
  umount /proc
  echo "aleph-initramfs: switching root to the instance disk"
  exec switch_root /newroot /sbin/init
fi
mount -t squashfs -o ro "$dev" /lower || fatal "runtime on $dev is not a squashfs image"
mount -t tmpfs -o mode=0755 tmpfs /rw || fatal "cannot mount tmpfs"
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot || fatal "cannot mount overlay"
[ -x /newroot/opt/aleph/init ] || fatal "runtime has no /opt/aleph/init"
mount --move /dev /newroot/dev
umount /sys
umount /proc
echo "aleph-initramfs: switching root"
exec switch_root /newroot /opt/aleph/init
