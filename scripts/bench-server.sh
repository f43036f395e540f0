#!/usr/bin/env bash
# Starts a release engine on spare loopback ports, loads it with callers
# (`ivr bench`), then stops it. Figures go to stdout; copy them into
# BENCHMARKS.md with the date, machine and commit.
set -euo pipefail
cd "$(dirname "$0")/.."
ivr=target/release/ivr
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
port=${BENCH_SIP_PORT:-5090}
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
[storage]
database = "$work/calls.sqlite"
recordings = "$work/recordings"
prompt_cache = "$PWD/var/prompts"
TOML
$ivr serve --config "$work/ivr.toml" 2> "$work/serve.log" &
server=$!
for _ in $(seq 1 100); do grep -q "answering SIP" "$work/serve.log" && break; sleep 0.2; done
target="sip:hotline@127.0.0.1:$port"
echo "## $(date -u +%F) $(git rev-parse --short HEAD) $(nproc) cores"
echo "### voice-to-voice, 1 caller at a time (every English fixture)"
mapfile -t fixtures < <(ls audio-fixtures/en_*.wav)
for f in "${fixtures[@]:0:${BENCH_FIXTURES:-20}}"; do
  $ivr bench voice --target "$target" --calls 1 --fixture "$f" --json
done > "$work/one.jsonl"
python3 - "$work/one.jsonl" <<'PY'
import json, sys
v = sorted(x for l in open(sys.argv[1]) for x in [json.loads(l)["voice_to_voice_ms"]] if x["n"] for x in [x["median"]])
s = sorted(json.loads(l)["setup_ms"]["median"] for l in open(sys.argv[1]))
q = lambda a, p: a[round((len(a) - 1) * p)]
print(f"one call: n={len(v)} voice-to-voice median {q(v,.5):.0f} ms, p95 {q(v,.95):.0f} ms, min {v[0]:.0f}, max {v[-1]:.0f}; setup median {q(s,.5):.1f} ms")
PY
echo "### voice-to-voice, 10 callers at once"
$ivr bench voice --target "$target" --calls 10 --stagger-ms 300
for n in ${BENCH_HOLD:-100 250 500 750 1000}; do
  echo "### $n callers listening (no speech), 12 s"
  $ivr bench hold --target "$target" --calls "$n" --seconds 12 --stagger-ms 5
done
