#!/usr/bin/env bash
# Installs the Debian packages the integration tests drive for real (see docs/ARCHITECTURE.md,
# "Real peers"). Idempotent: only missing packages are installed. Without root it prints the exact
# command to run and fails, so no test is ever skipped for a missing peer.
set -euo pipefail

PACKAGES=(obs-studio xvfb srt-tools ffmpeg postgresql prometheus chromium cloud-init iproute2 procps systemd gcc libc6-dev)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "system deps: all present (${PACKAGES[*]})"
  exit 0
fi

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "system deps: missing ${missing[*]}" >&2
  echo "system deps: run as root: apt-get update && $cmd" >&2
  exit 1
fi

echo "system deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system deps: installed ${missing[*]}"
