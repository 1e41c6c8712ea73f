"""modkit.features.TextTfidf against scikit-learn's TfidfVectorizer on real news comments.

    .venv/bin/python bench/tfidf_bench.py                     # table on stdout, bench/results/tfidf.json
    PYTHONPATH=/other/checkout/src .venv/bin/python bench/tfidf_bench.py --json /tmp/tfidf.json

Data: the 16,100 comment texts of civil-comments-toxic-spans (``comments.csv``), shuffled with
``--seed``; fit on 80%, transform the other 20%.

Speed (same settings as the civility model: 30,000 words, 50,000 character n-grams, min_df 2):

- ``TextTfidf(max_words=30000, max_chars=50000)``: word block (lower-cased whitespace tokens,
  punctuation stripped from both ends) | ``char_wb`` (2, 4) block, sublinear tf, each block
  l2-normalised;
- sklearn: ``hstack([TfidfVectorizer(<the same word tokens>, max_features=30000),
  TfidfVectorizer(analyzer='char_wb', ngram_range=(2, 4), max_features=50000)])``, both
  ``sublinear_tf=True, lowercase=True, min_df=2``. The word tokenizer is a callable giving the
  same tokens as TextTfidf (``str.split`` + strip punctuation). Note: with ``max_features``
  sklearn keeps the terms of highest total count, TextTfidf those of highest document frequency,
  so these vocabularies differ somewhat (overlap reported).

Each tool is fitted ``--rounds`` times, interleaved (modkit, sklearn, modkit, ...), and the
best round counts (the machine may be shared). Transform speed is given cold (the first transform after fit: TextTfidf's per-token cache
empty) and warm (best of ``--repeat`` further transforms of the same texts: every token cached).

Equivalence: with no ``max_features`` cap on either side (``max_chars`` / ``max_features``
large), both keep every term with document frequency >= 2, so the vocabularies are the same
and TextTfidf's char block must equal ``TfidfVectorizer(analyzer='char_wb', ngram_range=(2, 4),
sublinear_tf=True, lowercase=True, min_df=2)`` within 1e-9 (columns matched by name); the word
block is checked the same way against the word vectorizer.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import string
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if importlib.util.find_spec("modkit") is None:
    sys.path.insert(1, str(ROOT / "src"))

import numpy as np
import pandas as pd
import scipy.sparse as sp

CSV = Path("/work/shared/data/civil-comments-toxic-spans/comments.csv")
if not CSV.exists():
    CSV = ROOT / "data" / "civil-comments-toxic-spans" / "comments.csv"
# The punctuation TextTfidf strips from the ends of a word (modkit.features' docstring / word_of).
PUNCT = string.punctuation + "\u201c\u201d\u2018\u2019\u00ab\u00bb\u2026\u2013\u2014"
BIG = 10_000_000


def words(text: str) -> list[str]:
    """TextTfidf's words: lower-cased whitespace tokens, punctuation stripped (empty dropped)."""
    return [w for t in text.lower().split() if (w := t.strip(PUNCT))]


def sk_word(max_features: int | None) -> object:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(tokenizer=words, token_pattern=None, lowercase=False, sublinear_tf=True,
                           min_df=2, max_features=max_features)


def sk_char(max_features: int | None) -> object:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, lowercase=True,
                           min_df=2, max_features=max_features)


class SkTfidf:
    """hstack of the word and char_wb vectorizers (what a user of sklearn would write)."""

    def __init__(self, max_words: int | None, max_chars: int | None) -> None:
        self.w, self.c = sk_word(max_words), sk_char(max_chars)

    def fit(self, texts: list[str]) -> SkTfidf:
        self.w.fit(texts)
        self.c.fit(texts)
        return self

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        return sp.hstack([self.w.transform(texts), self.c.transform(texts)], format="csr")


def _blocks(tt: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TextTfidf's word and char column names (without prefix) and which columns are chars."""
    names = np.asarray(tt.get_feature_names_out(), dtype=object)
    is_char = np.array([n.startswith("char:") for n in names])
    stripped = np.array([n.split(":", 1)[1] for n in names], dtype=object)
    return stripped[~is_char], stripped[is_char], is_char


def _timed(fn, *a):
    t = time.perf_counter()
    out = fn(*a)
    return out, time.perf_counter() - t


def speed(make, train: list[str], test: list[str], repeat: int) -> dict[str, float]:
    est = make()
    _, fit_s = _timed(est.fit, train)
    X, cold = _timed(est.transform, test)
    warm = min(_timed(est.transform, test)[1] for _ in range(repeat))
    return {"fit_s": round(fit_s, 3), "transform_cold_s": round(cold, 4), "transform_warm_s": round(warm, 4),
            "transform_cold_per_s": round(len(test) / cold), "transform_warm_per_s": round(len(test) / warm),
            "shape": list(X.shape), "nnz": int(X.nnz), "_est": est}


def max_diff(A: sp.csr_matrix, B: sp.csr_matrix) -> float:
    D = (A - B).tocsr()
    return float(np.abs(D.data).max()) if D.nnz else 0.0


def equivalence(train: list[str], test: list[str]) -> dict[str, object]:
    from modkit.features import TextTfidf

    tt = TextTfidf(max_words=BIG, max_chars=BIG, char_ngram_range=(2, 4), min_df=2).fit(train)
    wnames, cnames, is_char = _blocks(tt)
    X = tt.transform(test).tocsr()
    Xw, Xc = X[:, np.flatnonzero(~is_char)], X[:, np.flatnonzero(is_char)]
    out: dict[str, object] = {}
    for block, names, mine, ref in (("char", cnames, Xc, sk_char(None)), ("word", wnames, Xw, sk_word(None))):
        ref.fit(train)
        vocab = ref.vocabulary_
        same = set(vocab) == set(names)
        res: dict[str, object] = {"textttfidf_terms": len(names), "sklearn_terms": len(vocab), "same_vocabulary": same,
                                  "same_column_order": bool(same and list(ref.get_feature_names_out()) == list(names))}
        if same:
            R = ref.transform(test).tocsr()[:, [vocab[t] for t in names]]
            d = max_diff(mine, R)
            res["max_abs_diff"] = d
            res["within_1e-9"] = d <= 1e-9
            res["same_nonzero_pattern"] = bool(((mine != 0) != (R != 0)).nnz == 0)
        else:
            res["only_texttfidf"] = sorted(set(names) - set(vocab))[:10]
            res["only_sklearn"] = sorted(set(vocab) - set(names))[:10]
        out[block] = res
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="warm transforms (best of)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved fit+transform rounds per tool (best of)")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "tfidf.json")
    args = ap.parse_args(argv)
    import sklearn

    import modkit
    from modkit.features import TextTfidf

    texts = pd.read_csv(CSV, usecols=["comment_text"])["comment_text"].fillna("").astype(str).tolist()
    order = np.random.default_rng(args.seed).permutation(len(texts))
    cut = int(0.8 * len(texts))
    train = [texts[i] for i in order[:cut]]
    test = [texts[i] for i in order[cut:]]

    def best(runs: list[dict]) -> dict:
        out = dict(runs[0])
        for k in ("fit_s", "transform_cold_s", "transform_warm_s"):
            out[k] = min(r[k] for r in runs)
        for k in ("transform_cold", "transform_warm"):
            out[f"{k}_per_s"] = max(r[f"{k}_per_s"] for r in runs)
        out["rounds"] = [{k: v for k, v in r.items() if k != "_est"} for r in runs]
        return out

    mk_runs, sk_runs = [], []
    for _ in range(args.rounds):  # interleaved, best of: the machine may be shared
        mk_runs.append(speed(lambda: TextTfidf(max_words=30000, max_chars=50000, char_ngram_range=(2, 4), min_df=2),
                             train, test, args.repeat))
        sk_runs.append(speed(lambda: SkTfidf(30000, 50000), train, test, args.repeat))
    mk, skl = best(mk_runs), best(sk_runs)
    tt, sk = mk.pop("_est"), skl.pop("_est")
    wnames, cnames, _ = _blocks(tt)
    overlap = {"word": len(set(wnames) & set(sk.w.vocabulary_)), "char": len(set(cnames) & set(sk.c.vocabulary_))}
    eq = equivalence(train, test)

    rows = [(f"fit seconds (80%: {len(train):,} texts)", "fit_s", False),
            (f"transform cold, comments/s (20%: {len(test):,} texts)", "transform_cold_per_s", True),
            ("transform warm, comments/s", "transform_warm_per_s", True)]
    print("| what | modkit TextTfidf | sklearn TfidfVectorizer word+char_wb | speed-up |")
    print("|---|---|---|---|")
    for label, key, per_s in rows:
        a, b = mk[key], skl[key]
        ratio = a / b if per_s else b / a
        print(f"| {label} | {a:,} | {b:,} | {ratio:.2f}x |")
    print(f"\nvocabulary at 30,000 words / 50,000 char n-grams: word overlap {overlap['word']:,}/{len(wnames):,}, "
          f"char overlap {overlap['char']:,}/{len(cnames):,} (sklearn caps by total count, TextTfidf by df"
          + ("; here the caps do not bind: fewer terms reach min_df 2)" if overlap["word"] == len(wnames) == len(
              sk.w.vocabulary_) and overlap["char"] == len(cnames) == len(sk.c.vocabulary_) else ")"))
    for block in ("char", "word"):
        e = eq[block]
        print(f"equivalence, {block} block, uncapped min_df=2 vocabularies ({e['textttfidf_terms']:,} / "
              f"{e['sklearn_terms']:,} terms): same vocabulary {e['same_vocabulary']}, "
              f"max |diff| {e.get('max_abs_diff', 'n/a')}, within 1e-9 {e.get('within_1e-9', False)}")
    result = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "cwd": os.getcwd(),
              "modkit": str(Path(modkit.__file__).resolve().parent), "sklearn": sklearn.__version__,
              "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "loadavg": [round(x, 2) for x in os.getloadavg()],
              "train_texts": len(train), "test_texts": len(test), "seed": args.seed,
              "modkit_texttfidf": mk, "sklearn_tfidfvectorizer": skl,
              "speedup": {"fit": round(skl["fit_s"] / mk["fit_s"], 2),
                          "transform_cold": round(mk["transform_cold_per_s"] / skl["transform_cold_per_s"], 2),
                          "transform_warm": round(mk["transform_warm_per_s"] / skl["transform_warm_per_s"], 2)},
              "vocabulary_overlap_capped": overlap, "equivalence_uncapped": eq}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 0 if eq["char"].get("within_1e-9") else 1


if __name__ == "__main__":
    raise SystemExit(main())
