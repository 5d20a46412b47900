#!/usr/bin/env bash
# Relay image recipe: run as root on a fresh Debian 12 (bookworm) base instance, then snapshot it
# as the AMI the control plane's manifest names for that region. Installs Node 20, Debian's
# srt-tools (srt-live-transmit moves the media) and the Telemy agent with its systemd unit; the
# session configuration arrives later through cloud-init (cloud-init.yaml.tmpl).
#
# Usage: build-image.sh [git-url] [git-ref]
set -euo pipefail

REPO_URL="${1:-${TELEMY_REPO_URL:-https://github.com/telemy/telemy.git}}"
REPO_REF="${2:-${TELEMY_REPO_REF:-main}}"
INSTALL_DIR=/opt/telemy
NODE_MAJOR=20

if [[ "$(id -u)" -ne 0 ]]; then
  echo "build-image.sh: run as root (it installs packages and a systemd unit)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
# gcc and libc6-dev build the library that keeps SRT passphrases off srt-live-transmit's command line.
apt-get install -y --no-install-recommends ca-certificates curl gnupg git srt-tools cloud-init gcc libc6-dev

# Node 20 from NodeSource's signed apt repository (Debian 12 ships Node 18).
install -d -m 0755 /etc/apt/keyrings
curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key \
  | gpg --dearmor --yes -o /etc/apt/keyrings/nodesource.gpg
echo "deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_${NODE_MAJOR}.x nodistro main" \
  > /etc/apt/sources.list.d/nodesource.list
apt-get update
apt-get install -y --no-install-recommends nodejs

# The agent: the repository's workspaces, production dependencies only.
id -u telemy >/dev/null 2>&1 || useradd --system --home-dir "$INSTALL_DIR" --shell /usr/sbin/nologin telemy
rm -rf "$INSTALL_DIR"
git clone --depth 1 --branch "$REPO_REF" "$REPO_URL" "$INSTALL_DIR"
(cd "$INSTALL_DIR" && npm ci --omit=dev --no-audit --no-fund)
chown -R root:root "$INSTALL_DIR"

install -d -m 0700 /etc/telemy
cat > /etc/systemd/system/telemy-relay.service <<'UNIT'
[Unit]
Description=Telemy relay agent (SRT ingest/egress, telemetry, health reports)
After=network-online.target
Wants=network-online.target
ConditionPathExists=/etc/telemy/relay.env

[Service]
# Root because the self-destruct rule runs `shutdown -h now` (the instance terminates on shutdown).
EnvironmentFile=/etc/telemy/relay.env
Environment=TELEMY_HOME=/var/lib/telemy
ExecStart=/usr/bin/node /opt/telemy/packages/cli/bin/telemy.js relay
Restart=always
RestartSec=2
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload

# Leave no per-build state in the snapshot: cloud-init must run again on every launch.
cloud-init clean --logs
echo "relay image ready: node $(node --version), $(srt-live-transmit -version 2>&1 | head -1)"
