#!/bin/sh
# aleph-instance-init: applies the host's per-boot configuration to an instance, before the
# network and SSH start. The configuration is on the seed drive (virtio-blk serial
# `aleph-seed`, else any filesystem labelled CIDATA), a NoCloud-compatible vfat image. Besides
# the cloud-init files it carries two plain files written for this script, so no YAML is parsed
# in shell:
#   aleph-instance.conf      KEY=value lines: HOSTNAME, MAC, ADDRESS (CIDR), GATEWAY, DNS,
#                            ADDRESS6 (CIDR) and GATEWAY6 when the node has IPv6, and
#                            VOLUME=<serial> <fs> <ro|rw> <mount point> per drive to mount
#   aleph-authorized-keys    root's OpenSSH public keys, one a line
# The vfat image is read with mtools (no kernel module needed). Every step logs a line on the
# console, which the host keeps as the instance's log.
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin MTOOLS_SKIP_CHECK=1

log() { echo "aleph-instance-init: $*"; }

seed_device() {
  for d in /sys/block/vd*; do
    [ -e "$d/serial" ] || continue
    if [ "$(cat "$d/serial")" = aleph-seed ]; then echo "/dev/${d##*/}"; return 0; fi
  done
  blkid -L CIDATA 2>/dev/null || blkid -L cidata 2>/dev/null || true
}

dev=$(seed_device)
if [ -z "$dev" ]; then
  log "no seed drive: keeping the previous configuration"
  exit 0
fi
seed=/run/aleph-seed
rm -rf "$seed"
mkdir -p -m 0700 "$seed"
mcopy -n -i "$dev" ::aleph-instance.conf ::aleph-authorized-keys "$seed/" || { log "cannot read the seed drive $dev"; exit 1; }

HOSTNAME= MAC= ADDRESS= GATEWAY= DNS= ADDRESS6= GATEWAY6=
while IFS='=' read -r key value; do
  case "$key" in
    HOSTNAME) HOSTNAME=$value ;;
    MAC) MAC=$value ;;
    ADDRESS) ADDRESS=$value ;;
    GATEWAY) GATEWAY=$value ;;
    ADDRESS6) ADDRESS6=$value ;;
    GATEWAY6) GATEWAY6=$value ;;
    DNS) DNS=$value ;;
    VOLUME) echo "$value" >> "$seed/volumes" ;;
  esac
done < "$seed/aleph-instance.conf"

if [ -n "$HOSTNAME" ]; then
  echo "$HOSTNAME" > /etc/hostname
  echo "$HOSTNAME" > /proc/sys/kernel/hostname
  # Keep the name resolvable locally (sudo, mail and others look it up).
  sed -i '/^127\.0\.1\.1[[:space:]]/d' /etc/hosts
  echo "127.0.1.1 $HOSTNAME" >> /etc/hosts
fi

# Root's keys: the seed's keys live between markers; lines the owner added outside them stay.
install -d -m 0700 /root/.ssh
keys=/root/.ssh/authorized_keys
touch "$keys"
awk '/^# BEGIN aleph-instance-init/{skip=1; next} /^# END aleph-instance-init/{skip=0; next} !skip' "$keys" > "$keys.new"
{
  echo "# BEGIN aleph-instance-init (rewritten at every boot from the seed drive)"
  cat "$seed/aleph-authorized-keys"
  echo "# END aleph-instance-init"
} >> "$keys.new"
chmod 0600 "$keys.new"
mv "$keys.new" "$keys"
log "$(grep -c '^[^#]' "$seed/aleph-authorized-keys" || true) authorized key(s) for root"

ip link set lo up
if [ -n "$MAC" ] && [ -n "$ADDRESS" ]; then
  nic=
  for n in /sys/class/net/*; do
    [ "$(cat "$n/address" 2>/dev/null)" = "$MAC" ] && nic=${n##*/}
  done
  if [ -z "$nic" ]; then
    log "no network interface with MAC $MAC"
  else
    ip addr flush dev "$nic"
    ip addr add "$ADDRESS" dev "$nic"
    ip link set "$nic" up
    [ -z "$GATEWAY" ] || ip route replace default via "$GATEWAY" dev "$nic"
    if [ -n "$ADDRESS6" ]; then
      ip -6 addr add "$ADDRESS6" dev "$nic" nodad
      [ -z "$GATEWAY6" ] || ip -6 route replace default via "$GATEWAY6" dev "$nic"
      log "network: $nic $ADDRESS6 via ${GATEWAY6:-none}"
    fi
    : > /etc/resolv.conf.new
    for s in $DNS; do echo "nameserver $s" >> /etc/resolv.conf.new; done
    mv /etc/resolv.conf.new /etc/resolv.conf
    log "network: $nic $ADDRESS via ${GATEWAY:-none}"
  fi
fi

# The instance's volumes, by virtio-blk serial (device letters are not stable on microvm).
if [ -s "$seed/volumes" ]; then
  while read -r serial fs mode mnt; do
    vdev=
    for d in /sys/block/vd*; do
      [ "$(cat "$d/serial" 2>/dev/null)" = "$serial" ] && vdev="/dev/${d##*/}"
    done
    if [ -z "$vdev" ]; then log "no drive with serial $serial for $mnt"; continue; fi
    if mountpoint -q "$mnt"; then continue; fi
    mkdir -p "$mnt"
    if mount -t "$fs" -o "$mode" "$vdev" "$mnt"; then log "mounted $serial on $mnt"; else log "cannot mount $serial on $mnt"; fi
  done < "$seed/volumes"
fi

# No host keys are baked into the image: every instance gets its own at first boot. Only
# ed25519 and ECDSA (RSA key generation takes seconds under emulation).
for type in ed25519 ecdsa; do
  if [ ! -s "/etc/ssh/ssh_host_${type}_key" ]; then
    ssh-keygen -q -t "$type" -N '' -f "/etc/ssh/ssh_host_${type}_key"
    log "generated the SSH host key ($type)"
  fi
done
rm -rf "$seed"
log "done"
