"""Rebuild terms.txt from alt-profanity-check's shipped linear model (MIT, see LICENSE).

    .venv/bin/pip install alt-profanity-check   # the `bench` extra
    .venv/bin/python data/profanity-lexicon/extract.py

Takes the words its calibrated LinearSVC weighs most towards "offensive" (mean coefficient over
its calibration folds >= MIN_WEIGHT), minus identity terms and plain words that would teach a
model to flag a comment for naming a group or for ordinary vocabulary (see EXCLUDE). modkit
reads the result at training time; nothing is downloaded or imported from the package at run time.
"""

from __future__ import annotations

import os
from pathlib import Path

import joblib
import numpy as np

MIN_WEIGHT = 1.6
# Identity terms (bias: flagging a comment for naming a group) and everyday words or word
# fragments that the tweet-trained model weighs but that are no insult on their own.
EXCLUDE = {
    "gay", "homosexual", "homo", "queer", "queers", "negro", "black", "jew", "jews", "muslim",
    "muslims", "islam", "white", "mexican", "mexicans", "asian", "women", "woman", "girl",
    "girls", "lesbian", "lesbians", "trans", "transgender", "racist", "nazis", "nazi", "hate",
    "hater", "haters", "hell", "die", "kill", "sex", "fat", "sick", "shut", "ing", "ck", "cking",
    "butt", "bloody", "damn", "freaking", "nerd", "nerds", "ridiculous", "rubbish", "garbage",
    "fart", "stink", "stinks", "stinky", "screw", "vagina", "penis", "anus", "semen", "boobs",
    "cum", "mutha", "nig", "nigs", "coons", "chink", "spic", "hoe", "hoes", "bird", "birds",
    "trash", "yankees", "monkey", "redskins", "colored", "brownies", "oreo", "charlie",
    "chambers", "clouds", "drove", "participating", "expense", "aged", "mom", "mum", "vine", "outs",
    "graves", "publicly", "buzz", "skull", "mouth", "nosed", "blow", "faced", "cancer", "shame",
    "dame", "goats", "spout", "misery", "blacks", "homosexuals", "whitey", "heil", "slave", "balls",
    "nuts", "nut", "lick", "mental", "mentally", "dirty", "rat", "donkey", "naughty", "worm",
    "bunch", "youre", "cruel", "horrible", "horrific", "wrath", "naked", "insane", "shoot", "rape",
    "rednecks", "redneck",
}


def main() -> None:
    import profanity_check

    data = Path(os.path.dirname(profanity_check.__file__)) / "data"
    vec = joblib.load(data / "vectorizer.joblib")
    model = joblib.load(data / "model.joblib")
    names = vec.get_feature_names_out()
    coef = np.mean([c.estimator.coef_[0] for c in model.calibrated_classifiers_], axis=0)
    order = np.argsort(-coef)
    terms = [names[i] for i in order if coef[i] >= MIN_WEIGHT and names[i] not in EXCLUDE
             and names[i].isalpha() and len(names[i]) >= 3]
    out = Path(__file__).with_name("terms.txt")
    out.write_text("\n".join(terms) + "\n", encoding="utf-8")
    print(f"wrote {len(terms)} terms to {out}")


if __name__ == "__main__":
    main()
