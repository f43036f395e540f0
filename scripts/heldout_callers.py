#!/usr/bin/env python3
"""Writes the manifest of the bench's held-out callers: sentences real
customers typed (banking77's training file, CLINC150's validation split
with its out-of-scope part), spoken by the same espeak-ng voices, rates and
line noise as audio-fixtures/, for `audio-fixtures/render.sh --dir`.

The 59 fixture utterances hold about 700 words, so one recogniser's word
error rate against another's moves a point with seven words; these callers
were never used to tune the recogniser and give three times the words. The
choice is seeded, so every run renders the same callers.

Usage: heldout_callers.py DATASETS_DIR OUT_DIR [COUNT]
"""

import csv
import json
import pathlib
import random
import sys

VOICES = [
    "en-us", "en-us+f2", "en-us+f3", "en-us+m3", "en-us-nyc", "en-us+klatt",
    "en-gb", "en-gb-x-rp", "en-gb-x-rp+f3", "en-gb-scotland", "en+m3", "en+f2",
    "en-029",
]
# Half the callers on a clean line, half with the fixtures' kinds of noise.
NOISES = ["none"] * 5 + ["babble:16", "babble:18", "pink:18", "white:17", "brown:15"]


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip().splitlines()[-1])
    datasets, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) == 4 else 200
    with open(datasets / "banking77" / "train.csv", encoding="utf-8") as f:
        banking = [row["text"] for row in csv.DictReader(f)]
    clinc = json.loads((datasets / "clinc150" / "train_val.json").read_text(encoding="utf-8"))
    clinc = [text for text, _ in clinc["val"] + clinc["oos_val"]]

    rng = random.Random(20261123)
    texts = rng.sample(banking, count // 2) + rng.sample(clinc, count - count // 2)
    rows = ["# id\tlanguage\tvoice\tspeed\tpitch\tamplitude\tnoise\tagitated\tintent\troute\ttext"]
    for i, text in enumerate(texts):
        # Tabs and pipes are the manifest's separators.
        text = " ".join(text.replace("|", " ").split())
        if not text:
            continue
        text = text[0].upper() + text[1:]
        rows.append("\t".join([
            f"en_held_{i:03d}", "en", rng.choice(VOICES), str(rng.randint(140, 175)),
            str(rng.randint(35, 65)), str(rng.randint(90, 110)), rng.choice(NOISES),
            "false", "none", "-", text,
        ]))
    out.mkdir(parents=True, exist_ok=True)
    (out / "fixtures.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
