"""Training data: importers for the public corpora in ``data/``, the seed labels, and the
synthetic off-topic placements. Each returns a DataFrame with the columns of
:func:`modkit.features.comment_frame` plus the task columns (``civility``, ``topic``,
``stance``: a value or ``""`` when the example says nothing about that task) and provenance:
``source`` (corpus or ``seed-labels``), ``source_id`` (id inside the source), ``group`` (the
thread it belongs to: cross-validation never splits a group), ``synthetic`` (True for
placements made here; never part of an evaluation on real labels).

How each corpus maps onto modkit's tasks (and what does not map) is documented on each loader
and in the README's model section.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from modkit.errors import ModkitError
from modkit.features import FRAME_COLUMNS

TASKS = ("civility", "topic", "stance")
#: Values of each task when the label schema (``labels/schema.toml``) cannot be read.
DEFAULT_VALUES = {
    "civility": ("civil", "uncivil", "abusive"),
    "topic": ("on", "off"),
    "stance": ("agree", "disagree", "neutral"),
}
EXAMPLE_COLUMNS = (*FRAME_COLUMNS, *TASKS, "source", "source_id", "group", "synthetic")

#: Corpora that may be used for training, by the name of their folder in ``data/``.
TRAINABLE = ("civil-comments-toxic-spans", "davidson-2017")
#: Corpora that are for evaluation only: training on them would make them measure nothing.
EVAL_ONLY = ("identity-madlibs",)
DEFAULT_DATA = TRAINABLE


def data_root(root: str | Path | None = None) -> Path:
    """The folder holding the corpora: ``root``, else ``./data``, else the checkout's ``data/``."""
    if root is not None:
        return Path(root)
    here = Path("data")
    if (here / TRAINABLE[0]).is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "data"


def _need(path: Path) -> Path:
    if not path.is_file():
        raise ModkitError(f"{path}: corpus file missing (data/ holds copies of the public corpora; see data/README)")
    return path


def _frame(n: int) -> dict[str, object]:
    return {"parent_id": [""] * n, "depth": np.zeros(n, dtype=np.int64), "position": np.arange(1, n + 1),
            "author": [""] * n, "timestamp": [""] * n, "article": [""] * n, "parent_text": [""] * n,
            "parent_author": [""] * n}


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    for col in EXAMPLE_COLUMNS:
        if col not in df.columns:
            df[col] = ""
    df["synthetic"] = df["synthetic"].astype(object).eq(True)
    return df


# --------------------------------------------------------------------------------------------
# Public corpora
# --------------------------------------------------------------------------------------------
ATTACK_TYPES = ("Threat", "Identity based Attack")


def load_civil_comments(root: str | Path | None = None) -> pd.DataFrame:
    """Civil Comments toxic spans (news comments, CC0) -> **civility**.

    Per comment (3 or more re-annotators):

    - ``civil`` when more than half of the raters judged it *not toxic* (borderline civil: every
      comment here was once rated toxic by the original Civil Comments raters);
    - ``abusive`` when at least half of the raters marked a Threat or an Identity based Attack
      span, or at least half marked an Insult span *and* at least half marked the whole post
      toxic (an attack on a person or group, not a rude word);
    - ``uncivil`` otherwise (Insult on part of the post, Profane/Obscene, Other toxicity);
    - dropped when exactly half judged it not toxic (no majority).

    Does not map: topic and stance (no article, no thread); the spans themselves (kept only as
    ``span_types``, used for the non-profane evaluation).
    """
    base = data_root(root) / "civil-comments-toxic-spans"
    comments = pd.read_csv(_need(base / "comments.csv"))
    ann = pd.read_csv(_need(base / "annotations.csv"))
    spans = pd.read_csv(_need(base / "spans.csv"))
    types = spans.dropna(subset=["type"]).groupby("annotation")["type"].agg(lambda s: set(map(str, s)))
    ann["types"] = ann["annotation"].map(types).apply(lambda v: v if isinstance(v, set) else set())
    ann["attack"] = ann["types"].apply(lambda t: bool(t & set(ATTACK_TYPES)))
    ann["insult"] = ann["types"].apply(lambda t: "Insult" in t)
    g = ann.groupby("comment_id")
    per = pd.DataFrame({
        "n": g.size(), "not_toxic": g["not toxic"].mean(), "all_toxic": g["all toxic"].mean(),
        "attack": g["attack"].mean(), "insult": g["insult"].mean(),
        "span_types": g["types"].agg(lambda ts: ";".join(sorted(set().union(*ts)))),
    })
    civility = np.where(per["not_toxic"] > 0.5, "civil", np.where(
        (per["attack"] >= 0.5) | ((per["insult"] >= 0.5) & (per["all_toxic"] >= 0.5)), "abusive", "uncivil"))
    per["civility"] = np.where(per["not_toxic"] == 0.5, "", civility)
    df = comments.merge(per, left_on="comment_id", right_index=True, how="inner")
    df = df[df["civility"] != ""].reset_index(drop=True)
    n = len(df)
    ids = df["comment_id"].astype(str)
    out = pd.DataFrame({
        "comment_id": "cc-" + ids, "doc": "cc-" + ids, **_frame(n),
        "text": df["comment_text"].fillna("").astype(str).to_numpy(),
        "civility": df["civility"].to_numpy(), "topic": "", "stance": "",
        "source": "civil-comments-toxic-spans", "source_id": ids.to_numpy(), "group": "cc-" + ids,
        "synthetic": False, "span_types": df["span_types"].to_numpy(),
        "share_not_toxic": df["not_toxic"].to_numpy(),
    })
    return _finish(out)


_RT_RE = re.compile(r"^(?:\W*RT\s+@\w+:?\s*)+")
_MENTION_RE = re.compile(r"@\w+")


def clean_tweet(text: str) -> str:
    """Strip what marks a tweet but not its content: HTML entities, leading ``RT @user:``,
    user names (-> ``@user``)."""
    text = html.unescape(html.unescape(text))
    text = _RT_RE.sub("", text)
    text = re.sub(r"\bRT\s+@\w+:?", "", text)
    return _MENTION_RE.sub("@user", text).strip()


def load_davidson(root: str | Path | None = None) -> pd.DataFrame:
    """Davidson et al. 2017 tweets (MIT) -> **civility**.

    - hate speech (majority class 0) -> ``abusive``;
    - offensive language (class 1) -> ``abusive`` when at least a third of the workers chose
      hate speech, else ``uncivil`` (most "offensive" tweets are casual profanity);
    - neither (class 2) -> ``civil``.

    Text is cleaned of tweet markers (:func:`clean_tweet`). Caveats: tweets, not news comments;
    known racial bias (African-American English over-labelled offensive, Davidson et al. 2019);
    alt-profanity-check was trained on it. Does not map: topic, stance.
    """
    base = data_root(root) / "davidson-2017"
    df = pd.read_csv(_need(base / "labeled_data.csv"))
    hate_share = df["hate_speech"] / df["count"]
    civility = np.select(
        [df["class"] == 0, (df["class"] == 1) & (hate_share >= 1 / 3), df["class"] == 1, df["class"] == 2],
        ["abusive", "abusive", "uncivil", "civil"], default="")
    ids = df.iloc[:, 0].astype(str)
    n = len(df)
    out = pd.DataFrame({
        "comment_id": "dv-" + ids, "doc": "dv-" + ids, **_frame(n),
        "text": [clean_tweet(str(t)) for t in df["tweet"]],
        "civility": civility, "topic": "", "stance": "",
        "source": "davidson-2017", "source_id": ids.to_numpy(), "group": "dv-" + ids, "synthetic": False,
    })
    out = out[out["civility"] != ""].reset_index(drop=True)
    return _finish(out)


LOADERS = {"civil-comments-toxic-spans": load_civil_comments, "davidson-2017": load_davidson}

#: Identity terms of Dixon et al. (2018), longest first so "african american" wins over "american".
IDENTITY_TERMS = tuple(sorted((
    "lesbian", "gay", "bisexual", "transgender", "trans", "queer", "lgbt", "lgbtq", "homosexual",
    "straight", "heterosexual", "male", "female", "nonbinary", "african", "african american", "black",
    "white", "european", "hispanic", "latino", "latina", "latinx", "mexican", "canadian", "american",
    "asian", "indian", "middle eastern", "chinese", "japanese", "christian", "muslim", "jewish",
    "buddhist", "catholic", "protestant", "sikh", "taoist", "old", "older", "young", "younger",
    "teenage", "millenial", "middle aged", "elderly", "blind", "deaf", "paralyzed",
), key=len, reverse=True))


def load_madlibs(root: str | Path | None = None) -> pd.DataFrame:
    """identity-madlibs (Dixon et al. 2018, Apache 2.0): **evaluation only**.

    Columns ``text``, ``bad`` (1 for BAD), ``term`` (the identity term the sentence is built on).
    """
    base = data_root(root) / "identity-madlibs"
    df = pd.read_csv(_need(base / "bias_madlibs_77k.csv"))
    pattern = re.compile(r"\b(" + "|".join(re.escape(t) for t in IDENTITY_TERMS) + r")\b")

    def term_of(text: str) -> str:
        m = pattern.search(text.lower())
        return m.group(1) if m else ""

    return pd.DataFrame({
        "text": df["Text"].astype(str), "bad": (df["Label"] == "BAD").astype(int),
        "term": [term_of(t) for t in df["Text"].astype(str)],
    })


def load_corpora(names: Sequence[str] = DEFAULT_DATA, root: str | Path | None = None) -> pd.DataFrame:
    """The named public corpora, concatenated. Refuses evaluation-only and unknown names."""
    frames = []
    for name in names:
        if name in EVAL_ONLY:
            raise ModkitError(f"--data {name}: evaluation only (it measures bias; training on it makes it measure nothing)")
        if name not in LOADERS:
            raise ModkitError(f"--data {name}: unknown corpus: expected one of {', '.join(LOADERS)}")
        frames.append(LOADERS[name](root))
    if not frames:
        return _finish(pd.DataFrame(columns=list(EXAMPLE_COLUMNS)))
    return pd.concat(frames, ignore_index=True)


def load_lexicon(root: str | Path | None = None) -> tuple[str, ...]:
    """The profanity/insult lexicon (``data/profanity-lexicon/terms.txt``), sorted."""
    path = _need(data_root(root) / "profanity-lexicon" / "terms.txt")
    return tuple(sorted({w.strip().lower() for w in path.read_text(encoding="utf-8").split() if w.strip()}))


# --------------------------------------------------------------------------------------------
# Seed labels
# --------------------------------------------------------------------------------------------
def task_values(schema_path: str | Path | None = None) -> dict[str, tuple[str, ...]]:
    """Values per task from the label schema (``modkit.labels.load_schema``) when it is there;
    modkit's default tasks otherwise."""
    try:
        from modkit.labels import load_schema  # type: ignore[attr-defined]
    except ImportError:
        return dict(DEFAULT_VALUES)
    try:
        schema = load_schema(schema_path) if schema_path else load_schema()
    except ModkitError:
        raise
    except Exception:  # noqa: BLE001 - a schema module still being built must not stop training
        return dict(DEFAULT_VALUES)
    out = dict(DEFAULT_VALUES)
    tasks = getattr(schema, "tasks", None)
    if isinstance(tasks, dict):
        items = tasks.items()
    elif tasks is not None:
        items = ((getattr(t, "name", str(t)), t) for t in tasks)
    else:
        return out
    for name, task in items:
        values = getattr(task, "values", task)
        names = tuple(getattr(v, "name", v) for v in values) if not isinstance(values, str) else ()
        if names:
            out[str(name)] = tuple(str(v) for v in names)
    return out


def seed_examples(labels_dir: str | Path, threads: Sequence, warnings: list[str] | None = None,
                  values: dict[str, tuple[str, ...]] | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """The comments of ``threads`` that have a resolved label in ``labels_dir``, one row each.

    Returns the examples and counts of the label events behind them by ``source`` (manual,
    import, review, adjudicated). A label on an unknown task is ignored; a value the schema
    does not know raises one clear :class:`ModkitError` naming the file; a label whose comment
    is not on the pages, or whose comment text changed since (``text_sha``), is skipped with a
    warning.
    """
    from modkit.features import comment_frame
    from modkit.labels import LabelStore, text_sha

    values = values or task_values()
    store = LabelStore(labels_dir)
    resolved = store.resolved(warnings)
    frame = comment_frame(threads).set_index("comment_id", drop=False)
    per: dict[str, dict[str, str]] = {}
    by_source: dict[str, int] = {}
    missing = 0
    for (cid, task), r in sorted(resolved.items()):
        if task not in TASKS or r.value is None:
            continue
        if r.value not in values.get(task, DEFAULT_VALUES[task]):
            ev = next((e for e in r.events if e.value == r.value), r.events[0])
            raise ModkitError(
                f"{store.path_for(ev.annotator)}: comment {cid}: unknown {task} {r.value!r}: "
                f"expected one of {', '.join(values.get(task, DEFAULT_VALUES[task]))}")
        if cid not in frame.index:
            missing += 1
            continue
        text = frame.at[cid, "text"]
        if any(e.text_sha and e.text_sha != text_sha(text) for e in r.events):
            if warnings is not None:
                warnings.append(f"label {task} of {cid}: comment text changed since it was labeled; skipped")
            continue
        per.setdefault(cid, {})[task] = r.value
        for e in r.events:
            by_source[e.source] = by_source.get(e.source, 0) + 1
    if missing and warnings is not None:
        warnings.append(f"{missing} labels name comments not on the pages read; skipped")
    rows = frame.loc[list(per)].reset_index(drop=True) if per else frame.iloc[0:0].reset_index(drop=True)
    for task in TASKS:
        rows[task] = [per[c].get(task, "") for c in rows["comment_id"]]
    rows["source"] = "seed-labels"
    rows["source_id"] = rows["comment_id"]
    rows["group"] = "page:" + rows["doc"].astype(str)
    rows["synthetic"] = False
    return _finish(rows), by_source


# --------------------------------------------------------------------------------------------
# Synthetic topic placements
# --------------------------------------------------------------------------------------------
#: A public comment mentioning one of these is about the seeds' subject (US-Russia relations).
ON_TOPIC_RE = re.compile(
    r"\b(?:russia\w*|putin\w*|kremlin|moscow|soviet\w*|ussr|medvedev|lavrov|crimea|ukrain\w*|cold war|"
    r"nato|syria\w*|assad)\b", re.IGNORECASE)
#: ... and one mentioning none of these (nor the above) is clearly about something else.
RELATED_RE = re.compile(
    r"\b(?:obama|america\w*|usa|u\.s\.?|united states|washington|president\w*|foreign|war|wars|nuclear|"
    r"iran\w*|china|chinese|diplomat\w*|election\w*|romney|clinton|military|europe\w*|israel\w*|"
    r"middle east|missile\w*|treaty|sanction\w*|communis\w*|weapon\w*|troops|army|geopoliti\w*)\b",
    re.IGNORECASE)


def topic_placements(public: pd.DataFrame, threads: Sequence, n_off: int = 1500, n_on: int = 600,
                     seed: int = 0) -> pd.DataFrame:
    """Synthetic **topic** examples: real public comments placed under the seed articles.

    - ``off``: comments that mention neither the seeds' subject nor anything near it
      (:data:`ON_TOPIC_RE`, :data:`RELATED_RE`), as a top-level comment or as a reply to a
      random seed comment of the page;
    - ``on``: comments that do mention the subject (Russia, Putin, the Kremlin...), placed the
      same way, so that "written elsewhere" is not what the model learns to call off-topic.

    The seed comments under their own articles are the real on/off examples (their labels).
    All placements are marked ``synthetic`` and grouped by the page they are placed on.
    Moving a seed comment to another seed page would teach nothing: all five seed articles are
    about US-Russia relations.
    """
    rng = np.random.default_rng(seed)
    pages = [t for t in threads if t.article.strip()]
    if not pages or public.empty:
        return _finish(pd.DataFrame(columns=list(EXAMPLE_COLUMNS)))
    texts = public["text"].astype(str)
    on_mask = texts.str.contains(ON_TOPIC_RE) & (texts.str.len() >= 40)
    off_mask = ~texts.str.contains(ON_TOPIC_RE) & ~texts.str.contains(RELATED_RE) & (texts.str.len() >= 20)
    picks = []
    for mask, value, n in ((off_mask, "off", n_off), (on_mask, "on", n_on)):
        idx = np.flatnonzero(mask.to_numpy())
        if len(idx) > n:
            idx = np.sort(rng.choice(idx, size=n, replace=False))
        picks.extend((i, value) for i in idx)
    rows = []
    for k, (i, value) in enumerate(picks):
        src = public.iloc[i]
        page = pages[int(rng.integers(len(pages)))]
        parent = None
        if page.comments and rng.random() < 0.5:
            parent = page.comments[int(rng.integers(len(page.comments)))]
        article = f"{page.title}\n{page.article}" if page.title else page.article
        rows.append({
            "comment_id": f"syn-{src['comment_id']}", "doc": page.doc,
            "parent_id": parent.id if parent else "", "depth": parent.depth + 1 if parent else 0,
            "position": len(page.comments) + k + 1, "author": f"synthetic-{k}", "timestamp": "",
            "text": src["text"], "article": article, "parent_text": parent.text if parent else "",
            "parent_author": parent.author if parent else "", "civility": "", "topic": value,
            "stance": "", "source": f"synthetic:{src['source']}", "source_id": str(src["source_id"]),
            "group": f"page:{page.doc}", "synthetic": True,
        })
    return _finish(pd.DataFrame(rows, columns=list(EXAMPLE_COLUMNS)))
