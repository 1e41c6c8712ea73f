"""Training data: importers for the public corpora in ``data/``, the seed labels, and the
synthetic off-topic placements. Each returns a DataFrame with the columns of
:func:`modkit.features.comment_frame`, one column per task it labels (a value, or ``""`` when
the example says nothing about that task) and provenance:
``source`` (corpus or ``seed-labels``), ``source_id`` (id inside the source), ``group`` (the
thread it belongs to: cross-validation never splits a group), ``synthetic`` (True for
placements made here; never part of an evaluation on real labels).

How each corpus maps onto modkit's tasks (and what does not map) is documented on each loader
and in the README's model section.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modkit.errors import ModkitError
from modkit.features import FRAME_COLUMNS, STOP_WORDS, word_of
from modkit.identity import MADLIBS_TERMS

#: Columns every example frame has, whatever the tasks (the task columns come on top).
EXAMPLE_COLUMNS = (*FRAME_COLUMNS, "source", "source_id", "group", "synthetic")

#: Corpora that are for evaluation only: training on them would make them measure nothing.
EVAL_ONLY = ("identity-madlibs",)
#: The pseudo-corpus of synthetic off-topic/on-topic placements (:func:`topic_placements`).
PLACEMENTS = "placements"


def data_root(root: str | Path | None = None) -> Path:
    """The folder holding the corpora: ``root`` when given (the CLI passes ``--data-dir``), else
    the ``data/`` folder of the source checkout modkit runs from."""
    if root is not None:
        return Path(root)
    return Path(__file__).resolve().parents[2] / "data"


def _need(path: Path) -> Path:
    if not path.is_file():
        raise ModkitError(f"{path}: corpus file missing (data/ holds copies of the public corpora; see data/README)")
    return path


def _frame(n: int) -> dict[str, object]:
    return {"parent_id": [""] * n, "depth": np.zeros(n, dtype=np.int64), "position": np.arange(1, n + 1),
            "author": [""] * n, "timestamp": [""] * n, "article": [""] * n, "parent_text": [""] * n,
            "parent_author": [""] * n}


def _finish(df: pd.DataFrame, tasks: Sequence[str] = ()) -> pd.DataFrame:
    for col in (*EXAMPLE_COLUMNS, *tasks):
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
        "civility": df["civility"].to_numpy(),
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
        "civility": civility,
        "source": "davidson-2017", "source_id": ids.to_numpy(), "group": "dv-" + ids, "synthetic": False,
    })
    out = out[out["civility"] != ""].reset_index(drop=True)
    return _finish(out)


@dataclass(frozen=True)
class Corpus:
    """A public corpus modkit can train on: the task it labels and the values it gives.

    It is used for a task of the schema with that name when the schema's values include every
    value the corpus gives; otherwise it is left out with a warning (a team that renamed the
    task's values maps its own data)."""

    name: str
    task: str
    values: tuple[str, ...]
    loader: Callable[[str | Path | None], pd.DataFrame]
    description: str


CORPORA: dict[str, Corpus] = {
    "civil-comments-toxic-spans": Corpus(
        "civil-comments-toxic-spans", "civility", ("civil", "uncivil", "abusive"), load_civil_comments,
        "news comments (CC0), graded by their re-annotations"),
    "davidson-2017": Corpus(
        "davidson-2017", "civility", ("civil", "uncivil", "abusive"), load_davidson,
        "tweets (MIT); hate / offensive / neither"),
}
LOADERS = {name: c.loader for name, c in CORPORA.items()}
#: What ``modkit train`` uses when ``--data`` is not given.
DEFAULT_DATA = ("civil-comments-toxic-spans", "davidson-2017", PLACEMENTS)

IDENTITY_TERMS = MADLIBS_TERMS


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


def check_data(names: Sequence[str]) -> tuple[str, ...]:
    """Validate ``--data`` names: corpora of :data:`CORPORA`, :data:`PLACEMENTS`, or ``none``.
    Refuses evaluation-only and unknown names with one clear message."""
    out: list[str] = []
    for name in names:
        if name == "none":
            continue
        if name in EVAL_ONLY:
            raise ModkitError(f"--data {name}: evaluation only (it measures bias; training on it makes it measure nothing)")
        if name not in CORPORA and name != PLACEMENTS:
            raise ModkitError(f"--data {name}: unknown corpus: expected one of {', '.join([*CORPORA, PLACEMENTS, 'none'])}")
        out.append(name)
    return tuple(out)


def load_corpora(names: Sequence[str] = DEFAULT_DATA, root: str | Path | None = None) -> pd.DataFrame:
    """The named public corpora, concatenated (``placements`` is not a corpus and is skipped
    here). Refuses evaluation-only and unknown names."""
    frames = [CORPORA[name].loader(root) for name in check_data(names) if name in CORPORA]
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
def seed_examples(labels_dir: str | Path, threads: Sequence, schema: Any,
                  warnings: list[str] | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """The comments of ``threads`` that have a resolved label in ``labels_dir``, one row each,
    with one column per task of ``schema`` (:class:`modkit.labels.schema.Schema`).

    Returns the examples and counts of the label events behind them by ``source`` (manual,
    import, review, adjudicated, platform). A value that only the platform gave (label events
    with ``source="platform"``, from ``modkit labels import --from-status``) is an example of
    the source ``platform-labels`` (a second row of its comment), which ``modkit train
    --platform-weight`` weighs below the team's own; when a person labeled the same comment and
    task, the people's labels decide. A label on a task the schema does not have is ignored; a value
    the schema does not know raises one clear :class:`ModkitError` naming the file; a label whose
    comment is not on the pages, or whose comment text changed since (``text_sha``), is skipped
    with a warning.
    """
    from modkit.features import comment_frame
    from modkit.labels import LabelStore, text_sha

    tasks = {t.name: t for t in schema.tasks}
    store = LabelStore(labels_dir)
    resolved = store.resolved(warnings)
    frame = comment_frame(threads).set_index("comment_id", drop=False)
    per: dict[str, dict[str, str]] = {}
    plat: dict[str, dict[str, str]] = {}  # values only the platform gave
    by_source: dict[str, int] = {}
    missing = 0
    for (cid, task), r in sorted(resolved.items()):
        if task not in tasks:
            continue
        people = [e for e in r.events if e.source != "platform"]
        if people and len(people) < len(r.events) and not r.adjudicated:
            r = _people_decide(r, people)  # a person's label beats the platform's
        if r.value is None:
            continue
        if r.value not in tasks[task].names:
            ev = next((e for e in r.events if e.value == r.value), r.events[0])
            raise ModkitError(
                f"{store.path_for(ev.annotator)}: comment {cid}: unknown {task} {r.value!r}: "
                f"expected one of {', '.join(tasks[task].names)}")
        if cid not in frame.index:
            missing += 1
            continue
        text = frame.at[cid, "text"]
        if any(e.text_sha and e.text_sha != text_sha(text) for e in r.events):
            if warnings is not None:
                warnings.append(f"label {task} of {cid}: comment text changed since it was labeled; skipped")
            continue
        only_platform = not r.adjudicated and all(e.source == "platform" for e in r.events)
        (plat if only_platform else per).setdefault(cid, {})[task] = r.value
        for e in r.events:
            by_source[e.source] = by_source.get(e.source, 0) + 1
    if missing and warnings is not None:
        warnings.append(f"{missing} labels name comments not on the pages read; skipped")
    parts = []
    for values, source in [(v, src) for v, src in ((per, "seed-labels"), (plat, PLATFORM_LABELS)) if v] or [(per, "seed-labels")]:
        rows = frame.loc[list(values)].reset_index(drop=True) if values else frame.iloc[0:0].reset_index(drop=True)
        for task in tasks:
            rows[task] = [values[c].get(task, "") for c in rows["comment_id"]]
        rows["source"] = source
        rows["source_id"] = rows["comment_id"]
        rows["group"] = "page:" + rows["doc"].astype(str)
        rows["synthetic"] = False
        parts.append(rows)
    rows = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    return _finish(rows, tuple(tasks)), by_source


#: The source of examples whose label only a comment system's own decision gave.
PLATFORM_LABELS = "platform-labels"


def _people_decide(r: Any, people: list) -> Any:
    """``r`` resolved from the people's labels alone (majority; a tie gives no value)."""
    from dataclasses import replace

    counts: dict[str, int] = {}
    for e in people:
        counts[e.value or ""] = counts.get(e.value or "", 0) + 1
    top = max(counts.values())
    winners = [v for v, n in counts.items() if n == top]
    return replace(r, value=None if len(winners) > 1 else winners[0], events=tuple(people), tie=len(winners) > 1)


# --------------------------------------------------------------------------------------------
# Synthetic topic placements
# --------------------------------------------------------------------------------------------
#: Content words an "on" placement shares with its article at least.
ON_SHARED = 1
#: A comment with fewer content words than this carries no subject of its own ("Well said",
#: "Thanks, you nailed it"): placed as a reply it is *on* (it answers its parent), never *off*.
MIN_SUBJECT_WORDS = 3
#: At most this share of the *on* placements are such short replies.
SHORT_REPLY_SHARE = 0.25


def _content_words(text: str) -> set[str]:
    return {w for w in (word_of(t) for t in text.lower().split()) if len(w) > 3 and w not in STOP_WORDS}


def topic_placements(public: pd.DataFrame, threads: Sequence, task: str, values: tuple[str, str],
                     n_off: int = 1500, n_on: int = 600, seed: int = 0) -> pd.DataFrame:
    """Synthetic examples for an on/off-topic task: real public comments placed under the
    articles of ``threads``, labelled by what they share with the article they are placed under
    (no word list, no subject: the article's own content words decide).

    - ``off`` (``values[1]``): a comment sharing no content word (stop words and words of three
      letters or fewer left out) with the article, nor with the parent it is placed under, as a
      top-level comment or as a reply to a random comment of the page: it is about something
      else;
    - ``on`` (``values[0]``): a comment sharing at least one content word with the article
      (:data:`ON_SHARED`), placed the same way, so that "written elsewhere" is not what the model
      learns to call off-topic; and a short reply with fewer than :data:`MIN_SUBJECT_WORDS`
      content words placed under a comment ("Well said", "Thanks for this"): it answers its
      parent, whatever the page is about (at most :data:`SHORT_REPLY_SHARE` of the *on* examples).
      A comment that short is never *off*: it has no subject to be off. (Requiring three shared words made the "on" examples all close
      paraphrases of the article, and the model then called 17 of the 38 seed comments
      off-topic, against 2 in the gold labels; one shared word: 5.)

    The labelled comments under their own articles are the real on/off examples. All
    placements are marked ``synthetic`` (never part of a figure on real labels) and grouped by
    the page they are placed on. Each source gives on and off in the same proportion
    (``n_off`` : ``n_on``), so the corpus cannot stand in for the label. Works for any site:
    nothing here knows what the pages are about.
    """
    on_value, off_value = values
    rng = np.random.default_rng(seed)
    pages = [t for t in threads if t.article.strip()]
    if not pages or public.empty:
        return _finish(pd.DataFrame(columns=list(EXAMPLE_COLUMNS)), (task,))
    texts = public["text"].astype(str).tolist()
    words = [_content_words(t) for t in texts]
    page_words = [_content_words(f"{p.title}\n{p.article}") for p in pages]
    order = rng.permutation(len(texts))
    sources = public["source"].astype(str).to_numpy()
    # First place every text and say what it would be; then take the same share of on and off
    # from each source, so the corpus a text comes from (tweets share fewer words with a news
    # article than news comments do) cannot stand in for the label.
    placed: dict[str, dict[str, list[tuple[int, int, Any, int]]]] = {}
    short: dict[str, list[tuple[int, int, Any, int]]] = {}
    for k, i in enumerate(order):
        if not texts[i].strip():
            continue
        pi = int(rng.integers(len(pages)))
        page = pages[pi]
        parent = None
        if page.comments and rng.random() < 0.5:
            parent = page.comments[int(rng.integers(len(page.comments)))]
        if len(words[i]) < MIN_SUBJECT_WORDS:
            if parent is not None:
                short.setdefault(sources[i], []).append((k, int(i), parent, pi))
            continue
        if len(texts[i]) < 20:
            continue
        shared = len(words[i] & page_words[pi])
        if shared == 0 and not (parent and words[i] & _content_words(parent.text)):
            value = off_value
        elif shared >= ON_SHARED:
            value = on_value
        else:
            continue
        placed.setdefault(sources[i], {off_value: [], on_value: []})[value].append((k, int(i), parent, pi))
    n_src = max(1, len(placed))
    rows = []
    for src_name in sorted(placed):
        cand = placed[src_name]
        # the largest take with off:on = n_off:n_on that this source can give, within its share
        scale = min(1.0, len(cand[off_value]) / max(1, n_off / n_src), len(cand[on_value]) / max(1, n_on / n_src))
        n_short = min(len(short.get(src_name, [])), int(n_on / n_src * scale * SHORT_REPLY_SHARE))
        cand[on_value] = short.get(src_name, [])[:n_short] + cand[on_value]
        for value, n in ((off_value, n_off), (on_value, n_on)):
            for k, i, parent, pi in cand[value][:int(n / n_src * scale)]:
                page = pages[pi]
                src = public.iloc[i]
                article = f"{page.title}\n{page.article}" if page.title else page.article
                rows.append({
                    "comment_id": f"syn-{src['comment_id']}", "doc": page.doc,
                    "parent_id": parent.id if parent else "", "depth": parent.depth + 1 if parent else 0,
                    "position": len(page.comments) + k + 1, "author": f"synthetic-{k}", "timestamp": "",
                    "text": texts[i], "article": article, "parent_text": parent.text if parent else "",
                    "parent_author": parent.author if parent else "", task: value,
                    "source": f"synthetic:{src['source']}", "source_id": str(src["source_id"]),
                    "group": f"page:{page.doc}", "synthetic": True,
                })
    return _finish(pd.DataFrame(rows, columns=[*EXAMPLE_COLUMNS, task]), (task,))
