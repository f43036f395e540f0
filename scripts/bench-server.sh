#!/usr/bin/env bash
# Figures 2-5 of `make bench` on a real engine: starts a release `ivr serve`
# on spare loopback ports, measures its idle memory, holds more and more
# listening callers (capacity, memory per call), places talking callers
# (decision and voice-to-voice latency at 1, 10 and 30 at once), steps
# sipp's call rate (setup rate), then stops it with SIGTERM and keeps its
# call records. Each figure is a JSON file in RESULTS_DIR.
# Usage: scripts/bench-server.sh RESULTS_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
results=${1:?usage: scripts/bench-server.sh RESULTS_DIR}
ivr=${IVR:-target/release/ivr}
port=${BENCH_SIP_PORT:-5090}
http=${BENCH_HTTP_PORT:-8090}
work=$(mktemp -d)
server=
stop_server() {
  if [ -n "$server" ]; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=
  fi
}
trap 'stop_server; rm -rf "$work"' EXIT
cat > "$work/ivr.toml" <<TOML
[sip]
udp = "127.0.0.1:$port"
tcp = "127.0.0.1:$port"
[rtp]
port_min = 40000
port_max = 49998
[engine]
dialplan = "$PWD/dialplans/hotline.toml"
models_dir = "$PWD/models"
record_calls = false
max_calls = 5000
# Voice-to-voice is timed to the answer itself: no "one moment" filler, and
# no caller handed to a person because their transcript was late.
one_moment_after_ms = 0
recognition_give_up_ms = 0
[storage]
database = "$work/calls.sqlite"
recordings = "$work/recordings"
prompt_cache = "$PWD/var/prompts"
[http]
listen = "127.0.0.1:$http"
TOML
"$ivr" serve --config "$work/ivr.toml" 2> "$work/serve.log" &
server=$!
for _ in $(seq 1 150); do grep -q "answering SIP" "$work/serve.log" && break; sleep 0.2; done
grep -q "answering SIP" "$work/serve.log" || { cat "$work/serve.log" >&2; exit 1; }
target="sip:hotline@127.0.0.1:$port"
json_field() { python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, r))' "$@"; }

# 4: idle memory, model loaded, before any call.
sleep 2
echo "{\"rss_kb\": $(awk '/^VmRSS:/ {print $2}' "/proc/$server/status")}" > "$results/idle.json"

# 3 and 4: callers listening (greeting, then reprompts), every call up
# within a few seconds; stop climbing once calls fail or over 5% of the
# packets are late (on a shared machine a level can lose a few packets to
# someone else's burst and the next one still be clean).
for n in ${BENCH_HOLD:-100 250 500 750 1000 1250 1500 2000}; do
  echo "   $n held calls" >&2
  "$ivr" bench hold --target "$target" --calls "$n" --seconds 12 --stagger-ms 3 \
    --watch-pid "$server" --json > "$results/hold-$n.json"
  bad=$(json_field "$results/hold-$n.json" 'failed > 0 or late_packets > 0.05 * max(packets, 1)')
  [ "$bad" = "True" ] && break
  sleep 3
done

# 2: talking callers, 100 ms apart; each listens long enough for a late
# answer to still be heard (and so measured). Callers say the English
# fixtures in turn; with several at once, rounds enough that every fixture
# is said, so no part of the set weighs more in the percentiles. One caller
# takes 22 s a round, so that level says the first 24.
fixtures=$(ls audio-fixtures/en_*.wav | wc -l)
for n in ${BENCH_CALLERS:-1 10 30}; do
  echo "   $n talking callers" >&2
  case $n in
    1) rounds=${BENCH_ONE_CALLER_ROUNDS:-24}; listen=6000 ;;
    *) rounds=$(( (fixtures + n - 1) / n )); listen=$(( 6000 + 600 * n )) ;;
  esac
  "$ivr" bench voice --target "$target" --calls "$n" --rounds "$rounds" --stagger-ms 100 \
    --listen-ms "$listen" --json > "$results/voice-$n.json"
  sleep 2
done

# 5: call setup rate.
echo "   setup rate" >&2
"$ivr" bench setup-rate --target "$target" --work-dir "$work/sipp" ${BENCH_RATES:+--rates "$BENCH_RATES"} \
  --json > "$results/setup-rate.json"

stop_server
cp "$work"/calls.sqlite* "$results/"
