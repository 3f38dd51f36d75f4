#!/usr/bin/env bash
# cluster.sh runs several `dovvydive serve` instances behind HAProxy, which
# health-checks each on /readyz: the shape of a production deployment, on
# loopback, for watching rolling restarts and load.
#
#   scripts/cluster.sh haproxy-config LBPORT ADDR...   print the HAProxy configuration
#   scripts/cluster.sh run LBPORT PORT...              run the instances and HAProxy in the
#                                                      foreground until Ctrl-C (make run-cluster)
#
# run needs DATABASE_URL (or the Neon variables) in the environment and the
# binary in bin/. HAPROXY_RETRIES (default 3) is how often HAProxy retries a
# request whose connection to an instance failed; the rolling-restart test
# sets 0 to prove that the drain alone keeps clients from seeing errors.
set -euo pipefail
cd "$(dirname "$0")/.."

haproxy_config() {
  local lbport=$1; shift
  cat <<CFG
global
  maxconn 2000

defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 10s
  retries ${HAPROXY_RETRIES:-3}
  option redispatch
  retry-on conn-failure

frontend api
  bind 127.0.0.1:$lbport
  default_backend dovvydive

backend dovvydive
  balance roundrobin
  # An instance leaves rotation after two failed checks (1 s), well within
  # its drain period (SERVER_DRAIN_PERIOD, 5 s by default), and returns
  # after two good ones.
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 500ms fall 2 rise 2
CFG
  local i=0
  for addr in "$@"; do
    i=$((i + 1))
    echo "  server app$i $addr check"
  done
}

cmd=${1:-}; shift || true
case "$cmd" in
haproxy-config)
  haproxy_config "$@"
  ;;
run)
  lbport=$1; shift
  scripts/need.sh haproxy
  dir=.data/cluster
  mkdir -p "$dir"
  pids=()
  cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait || true
  }
  trap cleanup EXIT INT TERM
  addrs=()
  for port in "$@"; do
    BACKEND_PORT=$port ./bin/dovvydive serve >"$dir/app-$port.log" 2>&1 &
    pids+=($!)
    addrs+=("127.0.0.1:$port")
    echo "cluster: instance on :$port (pid $!, log $dir/app-$port.log)" >&2
  done
  haproxy_config "$lbport" "${addrs[@]}" >"$dir/haproxy.cfg"
  HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
  "$HAPROXY" -db -f "$dir/haproxy.cfg" &
  pids+=($!)
  echo "cluster: HAProxy on http://127.0.0.1:$lbport (config $dir/haproxy.cfg); Ctrl-C stops everything" >&2
  echo "cluster: rolling restart: kill -TERM <pid>, start it again with BACKEND_PORT=<port> ./bin/dovvydive serve" >&2
  wait -n "${pids[@]}" || true
  ;;
*)
  echo "usage: cluster.sh haproxy-config LBPORT ADDR... | run LBPORT PORT..." >&2
  exit 2
  ;;
esac
