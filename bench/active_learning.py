"""Does reviewing the least-certain comments first teach the model more? A simulation.

Simulated moderators review news comments from the Civil Comments toxic-spans corpus
(``data/civil-comments-toxic-spans``, CC0; its civility labels, mapped by
``modkit.data.load_civil_comments``, stand in for the moderators' decisions). After each batch
of reviews the civility model is retrained with modkit's own pipeline
(``modkit.model.task_pipeline`` with ``balanced_weights``, as ``modkit.model.train`` fits it:
word and character TF-IDF, surface statistics, lexicon, calibrated linear SVM) and scored on a fixed held-out test set.

Three orders of review, same start, same pool, same test set:

- ``uncertain``: each batch is the comments where the current model is least sure by modkit's
  own measure (``uncertainty`` of ``modkit.flag.score``, the class margin: smallest gap between
  the two most probable civility values), what ``modkit label --order uncertain`` and
  ``modkit flag --queue N`` hand to humans;
- ``threshold``: least sure by modkit's former measure (how close p_abusive and p_uncivil come
  to their 0.5 flag thresholds);
- ``random``: each batch is drawn at random (reviewing in whatever order comments arrive).

Several seeds (different start sets and pools); the plot shows the mean macro-F1 (civil,
uncivil, abusive) and the min-max spread per number of reviewed comments.

    .venv/bin/python bench/active_learning.py                 # ~6 min on 2 cores
    .venv/bin/python bench/active_learning.py --quick         # ~1 min smoke run

Writes ``docs/active_learning.png`` and ``docs/active_learning.json`` (all numbers).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.metrics import f1_score

ROOT = Path(__file__).resolve().parent.parent


STRATEGIES = ("uncertain", "threshold", "random")


def _tasks():
    from modkit.labels import schema_for as _sf
    from modkit.tasks import Registry

    reg = Registry.from_schema(_sf(ROOT / "labels"))
    return reg.task("civility"), reg.task("topic")


def flag_uncertainty(P: np.ndarray, classes: list[str]) -> np.ndarray:
    """modkit's own measure, exactly as ``modkit.flag.score`` computes its ``uncertainty``
    column (``modkit.flag.class_margin_uncertainty``): 1 - the gap between the two likeliest
    civility values."""
    from modkit.flag import class_margin_uncertainty

    return class_margin_uncertainty(P)


def threshold_uncertainty(P: np.ndarray, classes: list[str], threshold: float = 0.5) -> np.ndarray:
    """modkit's former measure (before the class margin): how close the ABUSIVE and UNCIVIL
    probabilities come to their flag thresholds, 1 at a threshold. p_abusive is P(abusive),
    p_uncivil is P(uncivil) + P(abusive); thresholds 0.5."""
    col = {c: P[:, i] for i, c in enumerate(classes)}
    p_abusive = col["abusive"]
    p_uncivil = col["uncivil"] + col["abusive"]
    scale = max(threshold, 1 - threshold)
    return np.max(np.stack([1 - np.abs(p - threshold) / scale for p in (p_abusive, p_uncivil)]), axis=0)


def run_one(strategy: str, seed: int, pool: pd.DataFrame, test: pd.DataFrame, lexicon: tuple[str, ...],
            start: int, batch: int, rounds: int) -> dict:
    """One simulated review session: ``rounds`` batches, retraining after each."""
    from modkit.model import balanced_weights, task_pipeline

    warnings.simplefilter("ignore")  # liblinear convergence chatter on tiny training sets
    rng = np.random.default_rng(seed)
    y_pool = pool["civility"].to_numpy(dtype=str)
    y_test = test["civility"].to_numpy(dtype=str)
    # the same stratified start for both strategies of a seed: every class at least 3 times (calibration uses 3 folds)
    classes = sorted(set(y_pool))
    sizes = {c: max(3, int(start * np.mean(y_pool == c))) for c in classes}
    sizes[max(classes, key=lambda c: np.mean(y_pool == c))] += start - sum(sizes.values())  # exactly `start`
    labeled = list(np.concatenate([
        rng.choice(np.flatnonzero(y_pool == c), size=sizes[c], replace=False) for c in classes
    ]))
    curve = []
    for r in range(rounds + 1):
        pipe = task_pipeline(CIVILITY, lexicon, 10**5, seed=seed, small=True)
        idx = np.array(labeled)
        # class-balanced weights, as modkit.model.train gives them
        w = balanced_weights(pd.Series(y_pool[idx]), pd.Series(["review"] * len(idx)))
        pipe.fit(pool.iloc[idx], y_pool[idx], clf__sample_weight=w)
        pred = pipe.predict(test)
        curve.append({
            "reviewed": len(labeled),
            "macro_f1": float(f1_score(y_test, pred, average="macro")),
            "abusive_f1": float(f1_score(y_test == "abusive", pred == "abusive")),
        })
        if r == rounds:
            break
        rest = np.setdiff1d(np.arange(len(pool)), idx)
        if strategy in ("uncertain", "threshold"):
            P = pipe.predict_proba(pool.iloc[rest])
            classes = [str(c) for c in pipe.classes_]
            u = flag_uncertainty(P, classes) if strategy == "uncertain" else threshold_uncertainty(P, classes)
            pick = rest[np.argsort(-u, kind="stable")[:batch]]
        else:
            pick = rng.choice(rest, size=batch, replace=False)
        labeled.extend(pick.tolist())
    return {"strategy": strategy, "seed": seed, "curve": curve}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=6, help="independent runs per strategy")
    ap.add_argument("--pool", type=int, default=4000, help="comments the simulated moderators may review")
    ap.add_argument("--test", type=int, default=3000, help="held-out comments to score on")
    ap.add_argument("--start", type=int, default=50, help="reviewed comments before the first round")
    ap.add_argument("--batch", type=int, default=100, help="comments reviewed per round")
    ap.add_argument("--rounds", type=int, default=12, help="rounds of review and retraining")
    ap.add_argument("--jobs", type=int, default=2, help="parallel runs")
    ap.add_argument("--quick", action="store_true", help="2 seeds, 6 rounds: a smoke run")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "active_learning.png")
    a = ap.parse_args()
    if a.quick:
        a.seeds, a.rounds, a.pool, a.test = 2, 6, 2000, 1500

    from modkit import data

    t0 = time.perf_counter()
    corpus = data.load_civil_comments(ROOT / "data")
    lexicon = data.load_lexicon(ROOT / "data")
    test = corpus.sample(n=a.test, random_state=12345)
    rest = corpus.drop(test.index)
    jobs = []
    for seed in range(a.seeds):
        pool = rest.sample(n=a.pool, random_state=seed).reset_index(drop=True)
        for strategy in STRATEGIES:
            jobs.append(delayed(run_one)(strategy, seed, pool, test, lexicon, a.start, a.batch, a.rounds))
    results = Parallel(n_jobs=a.jobs)(jobs)
    seconds = time.perf_counter() - t0

    table: dict[str, pd.DataFrame] = {}
    for strategy in STRATEGIES:
        runs = [pd.DataFrame(r["curve"]).set_index("reviewed") for r in results if r["strategy"] == strategy]
        f1 = pd.concat([r["macro_f1"] for r in runs], axis=1)
        ab = pd.concat([r["abusive_f1"] for r in runs], axis=1)
        table[strategy] = pd.DataFrame({"mean": f1.mean(axis=1), "min": f1.min(axis=1), "max": f1.max(axis=1),
                                        "abusive_mean": ab.mean(axis=1)})
    summary = {
        "command": "bench/active_learning.py " + " ".join(
            f"--{k}={v}" for k, v in (("seeds", a.seeds), ("pool", a.pool), ("test", a.test), ("start", a.start),
                                      ("batch", a.batch), ("rounds", a.rounds))),
        "corpus": "civil-comments-toxic-spans (civility labels as the moderators' decisions)",
        "model": "modkit.model.task_pipeline(small=True), retrained after every batch",
        "metric": "macro-F1 over civil/uncivil/abusive on a fixed held-out test set",
        "test_class_counts": test["civility"].value_counts().to_dict(),
        "seconds": round(seconds, 1),
        "final_by_seed": {s: {r["seed"]: round(r["curve"][-1]["macro_f1"], 4) for r in results if r["strategy"] == s}
                          for s in STRATEGIES},
        "curves": {s: {int(k): {c: round(float(v), 4) for c, v in row.items()} for k, row in t.iterrows()}
                   for s, t in table.items()},
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    labels = {"uncertain": "least certain first (modkit: class margin)",
              "threshold": "least certain first (distance to flag thresholds)", "random": "random order"}
    for strategy, color in (("uncertain", "#d92d20"), ("threshold", "#f79009"), ("random", "#1570ef")):
        t = table[strategy]
        label = labels[strategy]
        ax.plot(t.index, t["mean"], color=color, marker="o", ms=3, label=f"{label}, mean of {a.seeds}")
        ax.fill_between(t.index, t["min"], t["max"], color=color, alpha=0.18, linewidth=0)
    ax.set_xlabel("comments reviewed (labels from review)")
    ax.set_ylabel("macro-F1 on held-out comments")
    ax.set_title("Civility model retrained after each batch of reviews\n"
                 f"Civil Comments, batch {a.batch}, band = min-max over {a.seeds} seeds", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    fig.savefig(a.out)

    last = max(table["uncertain"].index)
    u, r, mg = table["uncertain"].loc[last], table["random"].loc[last], table["threshold"].loc[last]
    print(f"{a.seeds} seeds, {a.rounds} rounds of {a.batch}, pool {a.pool}, test {a.test}: {seconds:.0f} s")
    for n in table["uncertain"].index[:: max(1, len(table["uncertain"]) // 5)].tolist() + [last]:
        print(f"  {n:5d} reviewed: " + "  ".join(f"{s} {table[s].loc[n, 'mean']:.3f}" for s in STRATEGIES))
    # reviews random order needs to reach the uncertain order's final F1
    reach = next((int(n) for n, v in table["random"]["mean"].items() if v >= u["mean"]), None)
    print(f"at {last} reviewed: uncertain {u['mean']:.3f} [{u['min']:.3f}-{u['max']:.3f}], "
          f"threshold {mg['mean']:.3f} [{mg['min']:.3f}-{mg['max']:.3f}], "
          f"random {r['mean']:.3f} [{r['min']:.3f}-{r['max']:.3f}]; random order reaches the uncertain F1 "
          + (f"at {reach}" if reach else "not within the run"))
    fin = summary["final_by_seed"]
    for s in ("uncertain", "threshold"):
        wins = sum(fin[s][k] > fin["random"][k] for k in fin["random"])
        print(f"{s} beats random at {last} reviewed on {wins} of {a.seeds} seeds (same start and pool)")
    print(f"wrote {a.out} and {a.out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
