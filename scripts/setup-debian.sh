#!/usr/bin/env bash
# Installs what the nodes (and, for development, their tests) need on a Debian 12 machine,
# idempotently. Run as root (or with sudo). Safe to run again: each step checks before it acts.
#   bash scripts/setup-debian.sh [--role dev|ccn|crn]
# --role dev (the default; CI and development machines): everything, including the test database
#   (role aleph, password aleph), npm dev dependencies, the Python SDK/CLI of the compat tests and
#   nginx (the bench's warm-path baseline; its system service is neither started nor enabled).
# --role ccn / --role crn (production hosts): only what that node runs. No test database, no npm
#   dev dependencies, no Python clients; `ccn` creates its own PostgreSQL database with a random
#   password, written to /etc/aleph-nodes/ccn-database.url (mode 0600; $ALEPH_NODES_ETC elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

ROLE=dev
while [ $# -gt 0 ]; do
  case "$1" in
    --role) ROLE="${2:-}"; shift 2 ;;
    --role=*) ROLE="${1#--role=}"; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup-debian.sh: unknown argument $1 (usage: --role dev|ccn|crn)" >&2; exit 2 ;;
  esac
done
case "$ROLE" in
  dev|ccn|crn) ;;
  *) echo "setup-debian.sh: --role must be dev, ccn or crn, got '$ROLE'" >&2; exit 2 ;;
esac
if [ "$ROLE" = dev ]; then
  echo "setup-debian.sh: role dev (test database with a known password, dev dependencies): not for a production host, see --role ccn|crn"
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-debian.sh must run as root (apt packages, PostgreSQL, network devices)" >&2
  exit 1
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "Node.js 20 or newer is required (found: $(node -v 2>/dev/null || echo none))" >&2
  exit 1
fi

# Debian packages:
# - PostgreSQL: the CCN's second storage engine and its tests;
# - iproute2, util-linux, nftables, iptables: namespaces, veth/tap devices, firewall and NAT rules
#   of the executors;
# - qemu-system-x86: the microVMs; debootstrap, squashfs-tools, busybox-static, zstd, cpio,
#   e2fsprogs: the guest images (kernel, initramfs, runtime root filesystem, volumes);
# - dosfstools, mtools: the seed drive (vfat, NoCloud layout) of microVM instances;
# - bubblewrap: the jail of process workloads and of the image tools run on tenant disks;
# - openssh-client: the instance tests log in to their VM over SSH;
# - curl: the examples the devnet prints; chromium: the browser the console tests drive
#   (playwright-core, test/console/);
# - python3-venv, python3-pip, libmagic1: the Python SDK and `aleph` CLI the compatibility tests
#   drive the nodes with (libmagic for aleph-client's python-magic);
# - nginx: `npm run bench` compares the CRN's proxy with nginx `proxy_pass` to the same app (the
#   bench runs /usr/sbin/nginx itself, with its own config and port; no system service).
APT_PACKAGES=(
  postgresql postgresql-client
  iproute2 util-linux nftables iptables
  qemu-system-x86 debootstrap squashfs-tools busybox-static zstd cpio e2fsprogs
  dosfstools mtools openssh-client bubblewrap
  curl ca-certificates chromium
  python3 python3-venv python3-pip libmagic1
  nginx
)
# Production roles install only what their node runs (the images of a CRN are built on the host).
case "$ROLE" in
  ccn) APT_PACKAGES=(postgresql postgresql-client curl ca-certificates) ;;
  crn) APT_PACKAGES=(
         iproute2 util-linux nftables iptables
         qemu-system-x86 debootstrap squashfs-tools busybox-static zstd cpio e2fsprogs
         dosfstools mtools bubblewrap curl ca-certificates
       ) ;;
esac
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # nginx's maintainer scripts would start (and enable) a system service on port 80: policy-rc.d
  # exit 101 makes invoke-rc.d refuse, unless the host already has a policy of its own.
  own_policy=
  if printf '%s\n' "${missing[@]}" | grep -qx nginx && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}" || { [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d; exit 1; }
  [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
else
  step "Debian packages already installed"
fi

if [ "$ROLE" = dev ] && [ -x /usr/sbin/nginx ]; then
  step "nginx: system service disabled (the bench starts its own nginx)"
  if [ -d /run/systemd/system ]; then systemctl disable --now nginx.service 2>/dev/null || true
  else update-rc.d nginx disable 2>/dev/null || true; fi
fi

if [ "$ROLE" != crn ]; then
step "PostgreSQL: start the cluster"
pg_version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$pg_version main"; then
  pg_createcluster "$pg_version" main
fi
pg_ctlcluster "$pg_version" main start 2>/dev/null || true
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 1
done
pg_isready -h 127.0.0.1 -p 5432
fi

if [ "$ROLE" = dev ]; then
step "PostgreSQL: the test role and database (aleph/aleph, development only)"
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='aleph'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"CREATE ROLE aleph LOGIN PASSWORD 'aleph' CREATEDB\""
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='aleph_test'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"CREATE DATABASE aleph_test OWNER aleph\""
fi

if [ "$ROLE" = ccn ]; then
  # The CCN's own database: a role with a random password, created once (a re-run keeps it and its
  # URL file). The URL goes in the node's config as "db"; the file is readable by root only.
  etc_dir="${ALEPH_NODES_ETC:-/etc/aleph-nodes}"
  url_file="$etc_dir/ccn-database.url"
  step "PostgreSQL: the CCN database (random password, $url_file)"
  install -d -m 0755 "$etc_dir"
  if ! su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='aleph_ccn'\"" | grep -q 1; then
    password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    su postgres -c "psql -qc \"CREATE ROLE aleph_ccn LOGIN PASSWORD '$password'\""
    (umask 077; printf 'postgres://aleph_ccn:%s@127.0.0.1:5432/aleph_ccn\n' "$password" > "$url_file")
  elif [ ! -f "$url_file" ]; then
    echo "setup-debian.sh: the PostgreSQL role aleph_ccn exists but $url_file does not: reset its password (ALTER ROLE) and write the URL there" >&2
  fi
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='aleph_ccn'\"" | grep -q 1 \
    || su postgres -c "psql -qc \"CREATE DATABASE aleph_ccn OWNER aleph_ccn\""
fi

if [ "$ROLE" = dev ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
else
  step "npm ci --omit=dev (no test or build tools on a production host)"
  npm ci --omit=dev --no-audit --no-fund
fi

# The real Python clients, from PyPI at pinned versions, for test/compat/: aleph-client pins an
# older aleph-sdk-python than the current one, so each gets its own venv (the SDK's in sdk/, the
# CLI's in cli/). A venv whose pinned package is already installed is left as it is.
ALEPH_PY_ROOT="${ALEPH_PY_ROOT:-/opt/aleph-py}"
py_venv() { # dir requirement
  local dir="$ALEPH_PY_ROOT/$1" req="$2"
  local name="${req%%==*}" version="${req##*==}"
  if [ -x "$dir/bin/python" ] && [ "$("$dir/bin/python" -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p')" = "$version" ]; then
    step "Python venv $dir already has $req"
    return
  fi
  step "Python venv $dir: $req"
  rm -rf "$dir"
  /usr/bin/python3 -m venv "$dir"
  "$dir/bin/python" -m pip install -q --upgrade pip
  "$dir/bin/python" -m pip install -q "$req"
}
if [ "$ROLE" = dev ]; then
  py_venv sdk aleph-sdk-python==2.4.0
  py_venv cli aleph-client==1.9.3
fi

# The guest kernel, initramfs, Node.js and Python runtimes and the instance image of the microVMs,
# cached by the hash of their inputs in .images/: the first build takes minutes (the Python
# runtime's pip install from PyPI and its squashfs dominate), a cached one seconds.
if [ "$ROLE" != ccn ]; then
  step "guest images"
  node packages/guest/bin/build-images.js
fi

step "setup done"
