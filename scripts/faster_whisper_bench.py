#!/usr/bin/env python3
"""The peer side of `make bench` figure 1: faster-whisper on the same
utterances as `ivr bench asr`.

Reads a list of 16 kHz mono 16-bit WAV files (one path a line, or
arguments), transcribes each with faster-whisper, and prints one JSON object
per utterance: {"wav", "audio_ms", "ms", "text"}. "ms" is end of utterance to
transcript: the samples are already in memory, the clock covers
`transcribe` and reading out its (lazy) segments.

Decoding matches the engine's: greedy, no temperature fallback, no
timestamps, no previous-text conditioning, no VAD filter, English, the same
bias prompt. The first utterance is transcribed once untimed (warm-up).
"""

import argparse
import json
import sys
import time
import wave

import numpy as np
from faster_whisper import WhisperModel


def read_wav(path):
    with wave.open(path, "rb") as w:
        if w.getframerate() != 16000 or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise SystemExit(f"{path}: expected 16 kHz mono 16-bit PCM")
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="CTranslate2 model folder")
    p.add_argument("--compute-type", default="int8", help="int8, float32, ...")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--prompt-file", help="bias prompt (initial_prompt)")
    p.add_argument("--list", help="file with one WAV path a line")
    p.add_argument("wavs", nargs="*")
    args = p.parse_args()

    paths = list(args.wavs)
    if args.list:
        with open(args.list, encoding="utf-8") as f:
            paths += [line.strip() for line in f if line.strip()]
    if not paths:
        raise SystemExit("no WAV files given")
    prompt = None
    if args.prompt_file:
        with open(args.prompt_file, encoding="utf-8") as f:
            prompt = f.read().strip() or None

    loaded = time.perf_counter()
    model = WhisperModel(
        args.model,
        device="cpu",
        compute_type=args.compute_type,
        cpu_threads=args.threads,
        num_workers=1,
    )
    print(
        f"faster-whisper: {args.model} as {args.compute_type}, {args.threads} thread(s), "
        f"loaded in {time.perf_counter() - loaded:.1f} s",
        file=sys.stderr,
    )

    def transcribe(audio):
        segments, _ = model.transcribe(
            audio,
            language="en",
            beam_size=1,
            temperature=0.0,
            without_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
            initial_prompt=prompt,
        )
        return "".join(s.text for s in segments).strip()

    for i, path in enumerate(paths):
        audio = read_wav(path)
        if i == 0:
            transcribe(audio)
        started = time.perf_counter()
        text = transcribe(audio)
        ms = (time.perf_counter() - started) * 1000.0
        record = {"wav": path, "audio_ms": len(audio) / 16.0, "ms": ms, "text": text}
        print(json.dumps(record, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
