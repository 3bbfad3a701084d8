#!/usr/bin/env bash
# `make profile`: flame graphs of one web gunicorn worker and of the click worker while wrk
# loads the running bench project's nginx with redirects (docs/benchmarks.md).
#   scripts/profile-stack.sh PY_SPY OUTPUT_DIR SECONDS
# py-spy runs on the host as root and attaches to the containers' processes by their host pid,
# so the containers need no extra capability. Traffic goes to the published loopback port only.
set -euo pipefail

py_spy=$1 out=$2 seconds=$3
base=$(docker compose port nginx 8080 | head -n 1 | sed 's|^0\.0\.0\.0:|127.0.0.1:|')
base="http://${base}"
mkdir -p "$out"

# A handful of links to redirect to, made through the API like a user would.
paths=$(mktemp)
trap 'rm -f "$paths"' EXIT
for n in $(seq 1 50); do
  curl -fsS -X POST -H 'Content-Type: application/json' \
    -d "{\"url\":\"https://example.org/profile/$n\"}" "$base/api/links" |
    sed -n 's/.*"code": *"\([^"]*\)".*/\/\1/p' >>"$paths"
done

# host_pid SERVICE PATTERN: the first process of the service's container whose command line
# matches PATTERN and whose parent matches it too (a gunicorn worker, not the master).
host_pid() {
  local container
  container=$(docker compose ps -q "$1" | head -n 1)
  docker top "$container" -eo pid,ppid,args | awk -v pat="$2" '
    NR > 1 && $0 ~ pat { pid[$1] = $2 }
    END { for (p in pid) if (pid[p] in pid) { print p; exit } }'
}
web_pid=$(host_pid web gunicorn)
worker_pid=$(docker top "$(docker compose ps -q worker | head -n 1)" -eo pid,args |
  awk '$2 ~ /python$/ && /-m worker/ { print $1; exit }')
echo "profile: web gunicorn worker pid $web_pid, click worker pid $worker_pid; $seconds s of load"

wrk -t1 -c64 -d"$((seconds + 4))s" -s bench/stack/paced.lua "$base/" -- "$paths" >"$out/profile-wrk.txt" &
load=$!
sleep 2
# --gil: samples of the thread holding the GIL only, i.e. where the process spends its CPU.
# Each process is sampled twice at once: a flame graph to look at, collapsed stacks to sum up.
for format in flamegraph raw; do
  ext=svg; [ "$format" = raw ] && ext=txt
  "$py_spy" record --pid "$web_pid" --duration "$seconds" --rate 100 --nonblocking --gil \
    --format "$format" --output "$out/profile-web.$ext" &
  "$py_spy" record --pid "$worker_pid" --duration "$seconds" --rate 100 --nonblocking --gil \
    --format "$format" --output "$out/profile-worker.$ext" &
done
wait %2 %3 %4 %5
wait "$load"
grep -E 'Requests/sec|Non-2xx|Socket errors' "$out/profile-wrk.txt" || true
echo "profile: wrote $out/profile-{web,worker}.{svg,txt} (txt: collapsed stacks)"
