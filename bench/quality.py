"""The judgement goals, one table: the shipped training recipe measured on news comments it
never saw, side by side with alt-profanity-check (``predict_prob``) on the same comments, and
the shipped model on the seeds and on identity-madlibs.

    .venv/bin/pip install -e '.[bench]'             # alt-profanity-check
    .venv/bin/python bench/quality.py [--seed 0] [--jobs 2] [--json bench/results/quality.json]

About 5 minutes on 2 cores. What each row comes from:

- **held-out news**: 20% of civil-comments-toxic-spans (news comments, CC0; seeded, by comment),
  kept out of training with ``modkit.model.train(exclude=...)``: the full default recipe (public
  corpora, seed labels, identity swaps, regularisation by grouped cross-validation, placements)
  trained on the rest. Neither tool has seen these comments. Its *civil* comments are borderline
  by construction (every comment of the set was once rated toxic; civil = most re-annotators
  said not toxic), so the figures are hard ones.
- **with swearing**: the held-out comments with a word of the profanity lexicon.
- **seeds**: the same model flagging ``seeds/`` at each profile. The seed labels are part of its
  training data: this row says what a moderator sees, not a held-out figure.
- **bias**: the same model on identity-madlibs (never trained on): the lowest subgroup, BPSN
  and BNSP AUC over its terms (Borkan et al. 2019).
- **off-topic on pages about other subjects**: not measured; no real threaded pages on other
  subjects are in reach offline (the format fixtures were written here), see the README.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def held_out_ids(seed: int, share: float = 0.2) -> list[str]:
    """The held-out comment ids of civil-comments-toxic-spans (``cc-<id>``), seeded."""
    from modkit import data

    cc = data.load_civil_comments(ROOT / "data")
    rng = np.random.default_rng(seed)
    return cc["comment_id"][rng.random(len(cc)) < share].astype(str).tolist()


def _auc(y: np.ndarray, s: np.ndarray) -> float | None:
    return round(float(roc_auc_score(y, s)), 4) if 0 < y.sum() < len(y) else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("--identity-swaps", type=int, default=None, help="override the recipe's identity swaps")
    ap.add_argument("--save", type=Path, default=None, help="also save the held-out model to this folder")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "quality.json")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    from profanity_check import predict_prob

    from modkit import data, flag, model, threads
    from modkit.features import lexicon_hits

    held = held_out_ids(args.seed)
    madlibs = data.load_madlibs(ROOT / "data")
    cc = data.load_civil_comments(ROOT / "data")
    test = cc[cc["comment_id"].isin(set(held))].reset_index(drop=True)
    t0 = time.perf_counter()
    extra = {} if args.identity_swaps is None else {"identity_copies": args.identity_swaps}
    m = model.train(labels=ROOT / "labels", pages=[ROOT / "seeds"], data_dir=ROOT / "data", seed=args.seed,
                    jobs=args.jobs, exclude=held, name="held-out", **extra)
    fit_s = time.perf_counter() - t0
    if args.save:
        model.save(m, args.save)
    P = m.pipelines["civility"].predict_proba(test)
    cls = [str(c) for c in m.pipelines["civility"].classes_]
    p_ab = P[:, cls.index("abusive")]
    p_unc = p_ab + P[:, cls.index("uncivil")]
    apc = np.asarray(predict_prob(test["text"].astype(str).tolist()))
    y = test["civility"].astype(str).to_numpy()
    lex = frozenset(m.lexicon)
    swear = np.array([bool(lexicon_hits(t, lex)) for t in test["text"].astype(str)])
    rows = []

    def row(name: str, data_from: str, n: int, ours: float | None, apc_v: float | None, goal: str) -> None:
        rows.append({"figure": name, "data": data_from, "n": n, "modkit": ours, "alt-profanity-check": apc_v,
                     "goal": goal})

    news = f"held-out 20% of civil-comments-toxic-spans (seed {args.seed}), never trained on"
    row("uncivil-or-abusive ROC-AUC", news, len(y), _auc(y != "civil", p_unc), _auc(y != "civil", apc), ">= APC")
    row("abusive ROC-AUC", news, len(y), _auc(y == "abusive", p_ab), _auc(y == "abusive", apc), ">= APC")
    row("abusive ROC-AUC, with swearing", news + ", comments with a lexicon word", int(swear.sum()),
        _auc(y[swear] == "abusive", p_ab[swear]), _auc(y[swear] == "abusive", apc[swear]), ">= APC")
    row("uncivil-or-abusive ROC-AUC, no lexicon word", news + ", comments without a lexicon word", int((~swear).sum()),
        _auc(y[~swear] != "civil", p_unc[~swear]), _auc(y[~swear] != "civil", apc[~swear]), ">= APC")

    seeds = threads.read([ROOT / "seeds"])
    n_seed = sum(len(t.comments) for t in seeds)
    for prof in ("strict", "balanced", "lenient"):
        df = flag.score(seeds, m, prof)
        n_flag = int((df["flags"] != "").sum())
        row(f"seed comments flagged, {prof}", "seeds/ (this recipe; its training includes the seed labels)",
            n_seed, n_flag, None, "<= 8" if prof == "balanced" else "")
    bias = (m.card.get("metrics", {}).get("bias_identity_madlibs", {}).get("flags") or {}).get("UNCIVIL")
    if bias:
        for k in ("subgroup_auc", "bpsn_auc", "bnsp_auc"):
            low = bias["lowest"][k]
            row(f"lowest {k.replace('_auc', '').upper()} AUC ({low['term']})",
                "identity-madlibs (never trained on)", 76564, low["auc"], None, ">= 0.85")
        row("UNCIVIL ROC-AUC, BAD vs NOT_BAD", "identity-madlibs (never trained on)", 76564, bias["roc_auc"],
            _auc(madlibs["bad"].to_numpy() == 1, np.asarray(predict_prob(madlibs["text"].tolist()))), "")
    row("off-topic ROC-AUC on pages about other subjects", "not measured: no real threaded pages on other "
        "subjects offline", 0, None, None, ">= 0.85")

    out = {"seed": args.seed, "train_seconds": round(fit_s, 1), "held_out": len(y),
           "regularisation": m.card.get("regularisation", {}).get("civility"), "rows": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"judgement goals (held-out recipe trained in {fit_s:.0f} s)")
    print(f"{'figure':<50}{'n':>7}  {'modkit':>8}  {'APC':>6}  goal    data")
    for r in rows:
        def f(v: object) -> str:
            return "-" if v is None else str(v)
        print(f"{r['figure']:<50}{r['n']:>7}  {f(r['modkit']):>8}  {f(r['alt-profanity-check']):>6}  {r['goal']:<7} {r['data']}")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
