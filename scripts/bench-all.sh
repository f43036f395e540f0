#!/usr/bin/env bash
# `make bench`: every benchmark in one go on the release build, then the
# figures replace the generated section of BENCHMARKS.md. Results (JSON)
# stay in var/bench/runs/<time>/. A step that fails is reported as not
# measured; the others still run. About 20-25 minutes on 2 cores.
set -uo pipefail
cd "$(dirname "$0")/.."
ivr=${IVR:-target/release/ivr}
results=${BENCH_RESULTS:-var/bench/runs/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$results"
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- src Cargo.toml Cargo.lock || commit="$commit (with uncommitted changes)"
began=$(date +%s)
printf '{"commit": "%s", "started_utc": "%s"}\n' "$commit" "$(date -u +%FT%TZ)" > "$results/run.json"
step() { echo "== $1 ($(( $(date +%s) - began )) s in)" >&2; }

step "media pipeline cost (in-process)"
"$ivr" bench media --json > "$results/media.json" || echo "media: failed" >&2
step "recognition alone: this engine and faster-whisper"
IVR=$ivr scripts/bench-asr.sh "$results" || echo "asr: failed" >&2
step "engine under load: memory, held calls, talking callers, setup rate"
IVR=$ivr scripts/bench-server.sh "$results" || echo "server: failed" >&2
step "report"
"$ivr" bench report --results "$results"
echo "== done in $(( $(date +%s) - began )) s; results in $results" >&2
