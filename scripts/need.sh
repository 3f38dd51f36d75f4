#!/usr/bin/env bash
# need.sh installs Debian packages for commands this machine lacks:
#   scripts/need.sh COMMAND[:PACKAGE] ...   e.g. scripts/need.sh haproxy podman runc
# A command already on PATH is left alone. Needs root or sudo to install.
set -euo pipefail
missing=()
for spec in "$@"; do
  cmd=${spec%%:*} pkg=${spec#*:}
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need.sh: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "need.sh: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
