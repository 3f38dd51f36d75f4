#!/usr/bin/env bash
# image.sh builds and runs the OCI image with podman (installed via apt when
# missing). No registry is contacted: the image is FROM scratch.
#
#   scripts/image.sh build [TAG]          binary + CA bundle into bin/image/, then podman build
#   scripts/image.sh run [TAG] [-- ARGS]  run it on the host network as dovvydive-$BACKEND_PORT;
#                                         DATABASE_*, NEON_*, SESSION_*, SERVER_*, BACKEND_PORT
#                                         and APP_ENV are passed through
#   scripts/image.sh rm PORT              remove the container dovvydive-PORT at once
#
# On this kernel podman works with runc, not crun, with cgroupfs, vfs storage
# and a containers.conf whose default_ulimits is empty; PODMAN_FLAGS
# overrides those global flags.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/need.sh podman runc update-ca-certificates:ca-certificates
conf=.data/podman/containers.conf
mkdir -p "$(dirname "$conf")"
cat >"$conf" <<CONF
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF
export CONTAINERS_CONF=$PWD/$conf
read -r -a flags <<<"${PODMAN_FLAGS:---runtime runc --cgroup-manager=cgroupfs --storage-driver vfs}"
podman() { command podman "${flags[@]}" "$@"; }

cmd=${1:-build}; shift || true
tag=dovvydive:latest
if [ $# -gt 0 ] && [ "$1" != -- ]; then tag=$1; shift; fi
case "$cmd" in
build)
  ctx=bin/image
  rm -rf "$ctx" && mkdir -p "$ctx"
  CGO_ENABLED=0 ${GO:-go} build -trimpath -ldflags '-s -w' -o "$ctx/dovvydive" .
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
  podman build --network host -f Containerfile -t "$tag" "$ctx"
  podman image inspect "$tag" --format 'image: {{.Id}} user={{.Config.User}} size={{.Size}}'
  ;;
run)
  [ "${1:-}" = -- ] && shift
  envs=()
  while IFS='=' read -r name _; do
    case "$name" in
    DATABASE_* | NEON_* | SESSION_* | BACKEND_PORT | APP_ENV | LOG_LEVEL | LOG_FORMAT | SERVER_* | EMBEDDING_* | GEMINI_* | SEARCH_* | PLANNER_* | METRICS_* | PPROF_*) envs+=(--env "$name") ;;
    esac
  done < <(env)
  exec podman run --rm --network host --name "dovvydive-${BACKEND_PORT:-4000}" "${envs[@]}" "$tag" "$@"
  ;;
rm)
  podman rm -f -t 0 "dovvydive-$tag" >/dev/null 2>&1 || true
  ;;
*)
  echo "usage: image.sh build [TAG] | run [TAG] [-- ARGS] | rm PORT" >&2
  exit 2
  ;;
esac
