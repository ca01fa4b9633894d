#!/usr/bin/env bash
# A fresh Debian 12 (bookworm) minbase root in DIR, from the debootstrap tarball cached in
# build-pkg/cache/ (FWD_DEBIAN_CACHE; made with `debootstrap --make-tarball` from the mirror of
# this machine's apt when missing, so a scripts/test run downloads the base system once for
# tests/package/run.sh and tests/e2e/test_service_nspawn.sh). The root gets this machine's apt
# sources (mirrors serving a dated snapshot: Check-Valid-Until off) and resolv.conf.
#
#   tests/package/debian-root.sh DIR     root; DIR must not exist or be empty
# Prints what it does on stderr; exits non-zero (the debootstrap log's tail shown) on failure.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
[[ $# -eq 1 ]] || { echo "usage: tests/package/debian-root.sh DIR" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "tests/package/debian-root.sh: needs root" >&2; exit 2; }
ROOT=$1
CACHE=${FWD_DEBIAN_CACHE:-$REPO/build-pkg/cache}

# The mirror of this machine's apt for bookworm (deb822 sources first, then sources.list).
mirror() {
  local m=""
  [[ -f /etc/apt/sources.list.d/debian.sources ]] &&
    m=$(awk '/^URIs:/{u=$2} /^Suites:/ && / bookworm( |$)/{print u; exit}' /etc/apt/sources.list.d/debian.sources)
  [[ -z $m && -f /etc/apt/sources.list ]] &&
    m=$(awk '$1=="deb" && $3=="bookworm"{print $2; exit}' /etc/apt/sources.list)
  echo "${FW_DEBIAN_MIRROR:-${m:-http://deb.debian.org/debian}}"
}

MIRROR=$(mirror)
TARBALL=$CACHE/bookworm-minbase-$(dpkg --print-architecture).tgz
LOG=$(mktemp /tmp/fwd-debian-root.XXXXXX.log)
trap 'rm -f "$LOG"' EXIT
if [[ ! -s $TARBALL ]]; then
  echo "debian-root: debootstrap --make-tarball (cold cache) from $MIRROR" >&2
  mkdir -p "$CACHE"
  MK=$(mktemp -d /var/tmp/fwd-debootstrap.XXXXXX)
  if ! debootstrap --variant=minbase --make-tarball="$TARBALL.part" bookworm "$MK" "$MIRROR" >"$LOG" 2>&1; then
    tail -n 20 "$LOG" >&2
    rm -rf "$MK" "$TARBALL.part"
    exit 1
  fi
  mv "$TARBALL.part" "$TARBALL"
  rm -rf "$MK"
fi
echo "debian-root: debootstrap --unpack-tarball $(basename "$TARBALL") into $ROOT" >&2
if ! debootstrap --variant=minbase --unpack-tarball="$TARBALL" bookworm "$ROOT" "$MIRROR" >"$LOG" 2>&1; then
  tail -n 20 "$LOG" >&2
  exit 1
fi
rm -f "$ROOT/etc/apt/sources.list"
if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
  cp /etc/apt/sources.list.d/debian.sources "$ROOT/etc/apt/sources.list.d/"
else
  echo "deb $MIRROR bookworm main" >"$ROOT/etc/apt/sources.list"
fi
echo 'Acquire::Check-Valid-Until "false";' >"$ROOT/etc/apt/apt.conf.d/99fwd-pkgtest"
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
