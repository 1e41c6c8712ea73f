"""Build ``src/modkit/resources/span_words/span_words.tsv``: the words that raters of the Civil
Comments toxic spans set (CC0, ``data/civil-comments-toxic-spans``) mark as the toxic part of a
news comment.

    .venv/bin/python scripts/build_span_words.py

For each word (lower case, punctuation stripped as modkit's tokens are), over every rating that
marked at least one span: the share of the word's occurrences that fall inside a marked span.
Kept: words in at least ``MIN_DOCS`` comments with a share of at least ``MIN_SHARE``, minus words
that only name a group of people (:data:`modkit.identity.NEVER_A_REASON`: raters mark "muslims"
inside an attack on Muslims, but the word is not the attack) and function words. ``modkit flag``
gives a word of a comment as an UNCIVIL/ABUSIVE reason only when it is in this list or the
profanity lexicon: the words people marked as the hostile part, not whatever topic word the
model leans on (a news corpus teaches "countries" or "world" a weight; raters never mark them).
Deterministic: the same data gives the same file.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

MIN_DOCS = 5
MIN_SHARE = 0.3
_TOKEN = re.compile(r"\S+")


def main() -> int:
    from modkit.features import STOP_WORDS, word_of
    from modkit.identity import NEVER_A_REASON

    base = ROOT / "data" / "civil-comments-toxic-spans"
    comments = pd.read_csv(base / "comments.csv")
    ann = pd.read_csv(base / "annotations.csv")
    spans = pd.read_csv(base / "spans.csv").dropna(subset=["start", "end"])
    marked = spans.groupby("annotation")[["start", "end"]].apply(lambda d: list(zip(d["start"], d["end"])))
    text = dict(zip(comments["comment_id"], comments["comment_text"].fillna("").astype(str)))
    total: Counter[str] = Counter()
    inside: Counter[str] = Counter()
    docs: Counter[str] = Counter()
    for cid, g in ann.groupby("comment_id", sort=True):
        toks = [(m.start(), m.end(), word_of(m.group().lower())) for m in _TOKEN.finditer(text.get(cid, ""))]
        toks = [t for t in toks if t[2]]
        docs.update({w for _, _, w in toks})
        for a in g["annotation"]:
            sp = marked.get(a, [])
            if not len(sp):
                continue  # this rater marked nothing (often: "not toxic")
            for st, en, w in toks:
                total[w] += 1
                inside[w] += any(st < e and en > b for b, e in sp)
    rows = sorted(((w, inside[w] / total[w], docs[w]) for w in total
                   if docs[w] >= MIN_DOCS and inside[w] / total[w] >= MIN_SHARE
                   and len(w) > 2 and w not in STOP_WORDS and w not in NEVER_A_REASON),
                  key=lambda r: (-r[1], r[0]))
    out = ROOT / "src" / "modkit" / "resources" / "span_words" / "span_words.tsv"
    with open(out, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("word\tshare_in_span\tcomments\n")
        for w, share, n in rows:
            fh.write(f"{w}\t{share:.3f}\t{n}\n")
    print(f"wrote {len(rows)} words to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
