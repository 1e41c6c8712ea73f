"""Real-text corpus in the seed page layout, for benchmarks.

    python bench/realtext.py OUT_DIR --pages 20000 --seed 0

Like ``bench/synth.py`` (same page furniture, titles' shape, dates, authors, reply trees of
varied depth, about 10 comments per page), but every comment body is a real news comment of
``civil-comments-toxic-spans/comments.csv`` (CC0, 16,100 texts, about 55k distinct
lower-cased tokens) and the article is other real comments joined, one per paragraph. The
synthetic corpus draws from ~150 words (585 distinct tokens), so every per-token cache hits;
this one does not.

Texts are dealt in a seeded random order; when the corpus needs more comments than there are
texts, a fresh seeded permutation of all texts follows (each text used once per round), so
texts repeat across pages deterministically. The same ``pages`` and ``seed`` give byte-identical
files.

From Python (the flag benchmark reuses it)::

    from bench.realtext import generate_real
    stats = generate_real("bench/out/real-1000", pages=1000, seed=0)   # {'pages', 'comments', 'bytes'}

Pages are written with :func:`modkit.threads.seedpage.render_page`. The layout has no escaping,
so a body line that would read as a comment header, a timestamp or the section's end
(:func:`modkit.threads.seedpage.ambiguous_body_line`, e.g. ``1. first point``) gets a leading
``- ``; lines are stripped of surrounding blanks and runs of blank lines become one paragraph
break (as the reader returns them).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.synth import _AUTHORS, _FURNITURE, _comments

from modkit.threads.seedpage import ambiguous_body_line, render_page

#: The real comments (CC0); the copy in the repository's data/ is the same file.
COMMENTS_CSV = Path("/work/shared/data/civil-comments-toxic-spans/comments.csv")
if not COMMENTS_CSV.exists():
    COMMENTS_CSV = ROOT / "data" / "civil-comments-toxic-spans" / "comments.csv"

_BLANKS = re.compile(r"\n{3,}")
_SOUNDOFF = re.compile(r"soundoff \(\d", re.IGNORECASE)


def _clean(text: str) -> str:
    """A comment as the page layout can carry it (see the module docstring)."""
    lines = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ").split("\n"):
        s = line.strip()
        if s and (ambiguous_body_line(s) or _SOUNDOFF.match(s)):
            s = "- " + s
        lines.append(s)
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip("\n")


def load_texts(path: str | Path = COMMENTS_CSV) -> list[str]:
    """The comment texts of ``comments.csv`` (file order), cleaned for the page layout."""
    import pandas as pd

    df = pd.read_csv(path, usecols=["comment_id", "comment_text"], dtype={"comment_text": str})
    return [_clean(t) for t in df["comment_text"].fillna("")]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def iter_real_pages(pages: int, seed: int = 0, texts: list[str] | None = None) -> Iterator[tuple[str, str, int]]:
    """Yield (file name, text, comments) for pages ``0 .. pages-1``, without touching disk."""
    texts = load_texts() if texts is None else texts
    n_texts = len(texts)
    order: list[int] = []
    cursor = 0
    rounds = 0

    def take() -> int:
        nonlocal order, cursor, rounds
        if cursor >= len(order):
            order = list(range(n_texts))
            random.Random(f"real:{seed}:round:{rounds}").shuffle(order)
            rounds += 1
            cursor = 0
        cursor += 1
        return order[cursor - 1]

    for i in range(pages):
        rng = random.Random(f"real:{seed}:{i}")
        start = datetime(2016, 1, 1) + timedelta(minutes=rng.randint(0, 60 * 24 * 700))
        has_section = rng.random() >= 0.05
        # Reply tree, authors and times as bench/synth.py makes them; bodies replaced by real texts.
        shape = _comments(rng, start) if has_section else []
        mine = [take() for _ in shape]
        comments = [c._replace(text=texts[j]) for c, j in zip(shape, mine)]
        # Article: other real comments (not this page's), one per paragraph.
        taken = set(mine)
        paragraphs: list[str] = []
        for _ in range(rng.randint(3, 12)):
            j = rng.randrange(n_texts)
            while j in taken or not texts[j]:
                j = rng.randrange(n_texts)
            taken.add(j)
            paragraphs.append(_one_line(texts[j]))
        words = paragraphs[0].split()
        title = " ".join(words[: rng.randint(4, 9)]).strip(" -") or "Comments"
        furniture = rng.sample(_FURNITURE, k=rng.randint(0, 3))
        article = "\n".join([*furniture, f"By {rng.choice(_AUTHORS)}, CNN", *paragraphs])
        declared = len(comments) + (rng.randint(1, 4) if rng.random() < 0.1 else 0)
        text = render_page(
            comments, title=title, article=article, date=start.strftime("%Y-%m-%d"), declared=declared,
            reply_links=rng.random() < 0.5,
        )
        if not has_section:
            text = text[: text.index("soundoff (")]
        name = f"{i:06d}_{hashlib.blake2b(f'real:{seed}:{i}'.encode(), digest_size=8).hexdigest()}.txt"
        yield name, text, len(comments)


def generate_real(out_dir: str | Path, pages: int, seed: int = 0) -> dict[str, int]:
    """Write ``pages`` real-text pages to ``out_dir``; return {'pages', 'comments', 'bytes'}.

    Reuses a complete corpus already there for the same ``pages`` and ``seed`` (recorded in
    ``out_dir/.realtext.json``: a dot file, which modkit skips when it walks the folder)."""
    from bench.synth import write_corpus

    return write_corpus(out_dir, pages, seed, iter_real_pages, ".realtext.json")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write a corpus of real news comments in the seed page layout.")
    ap.add_argument("out_dir", help="folder to write the pages to (e.g. bench/out/real)")
    ap.add_argument("--pages", type=int, default=20_000, help="number of pages (default 20000)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    stats = generate_real(args.out_dir, args.pages, args.seed)
    print(f"{stats['pages']} pages, {stats['comments']} comments, {stats['bytes'] / 1e6:.1f} MB "
          f"in {args.out_dir} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
