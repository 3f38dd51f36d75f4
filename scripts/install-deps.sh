#!/usr/bin/env bash
# install-deps.sh makes sure this machine has what the project's PostgreSQL needs:
# the PostgreSQL 15 server and pgvector. Debian 12 does not package pgvector, so
# we compile it from Debian 13 ("trixie")'s own source package, using a private
# apt source list so the system's apt configuration is never touched.
#
# Idempotent: every step is skipped when its result is already present.
set -euo pipefail

PG_MAJOR=${PG_MAJOR:-15}
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PG_BIN/pg_config
WORK=${DEPS_WORK:-/var/tmp/dovvydive-deps}

log() { echo "install-deps: $*" >&2; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
      log "need root (or sudo) to install $1"; exit 1
    fi
  else SUDO=; fi
}

apt_updated=
apt_install() {
  need_root "$*"
  if [ -z "$apt_updated" ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# trixie_source PKG DEST downloads Debian 13's source package PKG into DEST.
trixie_source() {
  local pkg=$1 dest=$2
  local uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=http://deb.debian.org/debian
  mkdir -p "$WORK/lists/partial" "$dest"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" >"$WORK/trixie.list"
  local opts=(-o Dir::Etc::SourceList="$WORK/trixie.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::State::Lists="$WORK/lists")
  if [ ! -f "$WORK/lists/.updated" ]; then
    apt-get "${opts[@]}" update -qq
    touch "$WORK/lists/.updated"
  fi
  (cd "$dest" && apt-get "${opts[@]}" source --download-only -qq "$pkg")
  (cd "$dest" && dpkg-source -x --no-check ./*.dsc src >/dev/null)
}

# 1. PostgreSQL server.
if [ ! -x "$PG_BIN/postgres" ]; then
  log "installing postgresql-$PG_MAJOR"
  apt_install "postgresql-$PG_MAJOR"
fi

# 2. pgvector, compiled from Debian's trixie source package.
if [ ! -f "/usr/share/postgresql/$PG_MAJOR/extension/vector.control" ]; then
  log "building pgvector from Debian trixie's source package"
  command -v dpkg-source >/dev/null || apt_install dpkg-dev
  [ -f "/usr/include/postgresql/$PG_MAJOR/server/postgres.h" ] || apt_install "postgresql-server-dev-$PG_MAJOR" make gcc
  rm -rf "$WORK/pgvector"
  trixie_source pgvector "$WORK/pgvector"
  make -s -C "$WORK/pgvector/src" OPTFLAGS="" PG_CONFIG="$PG_CONFIG" >/dev/null
  need_root pgvector
  $SUDO make -s -C "$WORK/pgvector/src" PG_CONFIG="$PG_CONFIG" install >/dev/null
  log "pgvector installed"
fi

# 3. The local Neon replica's poolers: PgBouncer 1.24 (the version Neon runs),
# compiled from trixie's source package, and Debian 12's own 1.18 package.
if [ "${WITH_PGBOUNCER:-1}" = 1 ]; then
  if [ ! -x /usr/sbin/pgbouncer ]; then
    log "installing Debian's pgbouncer package (1.18)"
    apt_install pgbouncer openssl
    # Only the binary is wanted: the packaged service must not hold a port.
    { command -v systemctl >/dev/null && $SUDO systemctl disable --now pgbouncer >/dev/null 2>&1; } || true
    $SUDO service pgbouncer stop >/dev/null 2>&1 || true
  fi
  if [ ! -x "$WORK/pgbouncer-1.24/pgbouncer" ]; then
    log "building PgBouncer from Debian trixie's source package"
    command -v dpkg-source >/dev/null || apt_install dpkg-dev
    apt_install make gcc pkg-config libevent-dev libssl-dev libc-ares-dev
    rm -rf "$WORK/pgbouncer"
    trixie_source pgbouncer "$WORK/pgbouncer"
    (cd "$WORK/pgbouncer/src" && ./configure --without-systemd --without-pam --without-ldap >/dev/null && make -s -j2 >/dev/null)
    mkdir -p "$WORK/pgbouncer-1.24"
    cp "$WORK/pgbouncer/src/pgbouncer" "$WORK/pgbouncer-1.24/pgbouncer"
    log "pgbouncer built: $("$WORK/pgbouncer-1.24/pgbouncer" --version | head -1)"
  fi
fi
