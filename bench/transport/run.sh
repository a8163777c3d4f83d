#!/usr/bin/env bash
# Transport benchmark beside ucx_perftest, same shapes, same UCX_TLS, two processes on loopback.
#   bench/transport/run.sh [build-dir]      (default build/release; needs troupe_bench_transport built)
# Env: TLS_LIST (default "<default> sm,self,tcp tcp"), ROUNDS (10000), RMA_ITERATIONS (10),
#      PERFTEST_PORT (13337). Results go to docs/BENCHMARKS.md ("Transport").
set -euo pipefail
build=${1:-build/release}
bench=$build/bin/troupe_bench_transport
[[ -x $bench ]] || { echo "missing $bench (cmake --build $build --target troupe_bench_transport)" >&2; exit 1; }
rounds=${ROUNDS:-10000}
iterations=${RMA_ITERATIONS:-10}
port=${PERFTEST_PORT:-13337}
rma_bytes=$((64 << 20))

perftest() {  # perftest <UCX_TLS or ""> <perftest args...>: server in the background, client here
  local tls=$1; shift
  local env_tls=()
  [[ -n $tls ]] && env_tls=(UCX_TLS=$tls)
  env "${env_tls[@]}" ucx_perftest -p "$port" >/dev/null 2>&1 &
  local server=$!
  sleep 0.5
  env "${env_tls[@]}" timeout 120 ucx_perftest 127.0.0.1 -p "$port" -f "$@" 2>&1 | grep -v '^+' | tail -n 2 || true
  wait "$server" 2>/dev/null || true
}

echo "# $(date -u +%F) $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# UCX $(ucx_info -v | sed -n 's/^# Version //p')"
for tls in ${TLS_LIST:-"" "sm,self,tcp" "tcp"}; do
  echo
  echo "## UCX_TLS=${tls:-<UCX default>}"
  echo "### troupe_bench_transport"
  if [[ -n $tls ]]; then
    "$bench" --tls "$tls" --rounds "$rounds" --rma-iterations "$iterations"
  else
    "$bench" --rounds "$rounds" --rma-iterations "$iterations"
  fi
  echo "### ucx_perftest ucp_am_lat, 100 bytes, $rounds iterations (one-way = half round trip, usec)"
  perftest "$tls" -t ucp_am_lat -s 100 -n "$rounds" -w 1000
  echo "### ucx_perftest ucp_put_bw, 64 MiB, $iterations iterations "
  perftest "$tls" -t ucp_put_bw -s "$rma_bytes" -n "$iterations" -w 2
  echo "### ucx_perftest ucp_get, 64 MiB, $iterations iterations "
  perftest "$tls" -t ucp_get -s "$rma_bytes" -n "$iterations" -w 2
done
