"""Synthetic corpus in the seed page layout, for benchmarks.

    python bench/synth.py OUT_DIR --pages 100000 --seed 0

writes ``OUT_DIR/NNNNNN_<hex>.txt`` pages (about 10 comments each, so 100k pages hold about
1M comments): site furniture, a title and date, article paragraphs, and (on about 95% of
pages) a comment section with reply trees of varied depth (up to 8 levels), bodies of zero to
five paragraphs, odd author names, emoji, and now and then a declared count that differs from
the comments found. Deterministic: the same ``pages`` and ``seed`` give byte-identical files,
and page ``i`` does not depend on how many pages are asked for.

From Python (the flag benchmark reuses it)::

    from bench.synth import generate
    stats = generate("bench/out/synth", pages=1000, seed=0)   # {'pages', 'comments', 'bytes'}

Pages are written with :func:`modkit.threads.seedpage.render_page`, the same writer the
round-trip tests check against the parser.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from modkit.threads.seedpage import PageComment, render_page

_WORDS = (  # noqa: SIM905  (a word list reads better as text)
    "russia obama putin moscow washington relations policy reset missile defense syria assad "
    "iran nuclear treaty sanctions election president minister congress senate vote economy "
    "trade oil gas europe nato china war peace talks summit deal trust cooperation security "
    "military army people country government media news article story truth lies propaganda "
    "history cold future world power influence interest nation border crisis region leader "
    "the a of to and in is that it for on with as was but not be are this have they you we "
    "will would should could never always again still just only really very much more less "
    "good bad better worse right wrong true false big small new old long short free strong weak"
).split()
_EMOJI = ("\U0001f642", "\U0001f600", "\U0001f44d", "\U0001f621", "\u2764\ufe0f", "\U0001f1f7\U0001f1fa")
_NAME_PARTS = (
    "Andrey", "Jerry", "Roses", "Den", "giggig", "observer", "Marine", "j. von hettlingen", "raydar",
    "Jos\u00e9", "Zo\u00eb", "\u0410\u043d\u0434\u0440\u0435\u0439", "\u674e\u96f7", "O'Brien", "mirage", "Hate Wins",
    "ROBERT", "YoungNiceGuy", "cnnlies", "rightospeak", "<b>bold</b>", "=SUM(A1)", "Dmitriy", "Chato's land",
)
_FURNITURE = (
    "Follow Christiane on social media:", "On Twitter + Facebook + Instagram Amanpour producers on Twitter",
    "What time is Amanpour on CNN?", "Check showtimes to see when Amanpour is on CNN where you are. Or watch online.",
    "Skip to: Content", "Skip to: Site Navigation",
)


def _sentence_pool(rng: random.Random, n: int = 4000) -> list[str]:
    pool = []
    for _ in range(n):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(4, 22))]
        s = " ".join(words)
        s = s[0].upper() + s[1:] + rng.choice((".", ".", ".", "!", "?", "..."))
        if rng.random() < 0.05:
            s += " " + rng.choice(_EMOJI)
        pool.append(s)
    return pool


_POOL = _sentence_pool(random.Random(20240607))
_AUTHORS = [
    f"{a}{b}" for a in _NAME_PARTS for b in ("", "07", " USA", "_1983", "-Atlanta")
]


def _paragraph(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(_POOL) for _ in range(rng.randint(lo, hi)))


def _body(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.04:
        return ""  # an empty body, as seed 000 has
    n_par = 1 if r < 0.6 else 2 if r < 0.85 else rng.randint(3, 5)
    paragraphs = []
    for _ in range(n_par):
        lines = [_paragraph(rng, 1, 4) for _ in range(1 if rng.random() < 0.8 else rng.randint(2, 3))]
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def _comments(rng: random.Random, start: datetime) -> list[PageComment]:
    n = min(int(rng.expovariate(1 / 10)), 150)  # mean about 10, a long tail
    out: list[PageComment] = []
    when = start
    depth = -1
    authors = rng.sample(_AUTHORS, k=min(len(_AUTHORS), max(1, n // 2 + 1)))
    for _ in range(n):
        # Depth: go one deeper, stay, or climb back up (always a valid tree in page order).
        r = rng.random()
        if depth >= 0 and r < 0.35 and depth < 8:
            depth += 1
        elif depth > 0 and r < 0.55:
            depth = rng.randint(0, depth)
        elif r < 0.75 or depth < 0:
            depth = 0
        when += timedelta(minutes=rng.randint(1, 600))
        out.append(PageComment(rng.choice(authors), when.strftime("%Y-%m-%dT%H:%M"), _body(rng), depth))
    return out


def render_synthetic_page(i: int, seed: int = 0) -> tuple[str, str, int]:
    """Page ``i`` of the corpus for ``seed``: (file name, text, number of comments)."""
    rng = random.Random(f"{seed}:{i}")
    start = datetime(2012, 1, 1) + timedelta(minutes=rng.randint(0, 60 * 24 * 700))
    title = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 9))).capitalize()
    furniture = rng.sample(_FURNITURE, k=rng.randint(0, 3))
    article = "\n".join(
        [*furniture, f"By {rng.choice(_AUTHORS)}, CNN"] + [_paragraph(rng, 1, 5) for _ in range(rng.randint(3, 12))]
    )
    has_section = rng.random() >= 0.05
    comments = _comments(rng, start) if has_section else []
    declared = len(comments) + (rng.randint(1, 4) if rng.random() < 0.1 else 0)
    text = render_page(
        comments, title=title, article=article, date=start.strftime("%Y-%m-%d"), declared=declared,
        reply_links=rng.random() < 0.5,
    )
    if not has_section:
        text = text[: text.index("soundoff (")]
    name = f"{i:06d}_{hashlib.blake2b(f'{seed}:{i}'.encode(), digest_size=8).hexdigest()}.txt"
    return name, text, len(comments)


def iter_pages(pages: int, seed: int = 0) -> Iterator[tuple[str, str, int]]:
    """Yield (file name, text, comments) for pages ``0 .. pages-1``, without touching disk."""
    for i in range(pages):
        yield render_synthetic_page(i, seed)


def generate(out_dir: str | Path, pages: int, seed: int = 0) -> dict[str, int]:
    """Write ``pages`` synthetic pages to ``out_dir``; return {'pages', 'comments', 'bytes'}.

    Reuses a complete corpus already there for the same ``pages`` and ``seed`` (recorded in
    ``out_dir/.synth.json``, a dot file modkit skips when it walks the folder), so benchmarks can call it every run.
    """
    return write_corpus(out_dir, pages, seed, iter_pages, ".synth.json")


def write_corpus(out_dir: str | Path, pages: int, seed: int, page_iter, stamp_name: str) -> dict[str, int]:
    """Write the ``(name, text, n_comments)`` pages of ``page_iter(pages, seed)`` to ``out_dir``
    unless the stamp file says a complete corpus of the same ``pages`` and ``seed`` is there."""
    out = Path(out_dir)
    stamp = out / stamp_name
    if stamp.exists():
        stats = json.loads(stamp.read_text())
        if stats.get("pages") == pages and stats.get("seed") == seed:
            return {k: stats[k] for k in ("pages", "comments", "bytes")}
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.txt"):
        old.unlink()
    n_comments = n_bytes = 0
    for name, text, n in page_iter(pages, seed):
        data = text.encode("utf-8")
        (out / name).write_bytes(data)
        n_comments += n
        n_bytes += len(data)
    stats = {"pages": pages, "comments": n_comments, "bytes": n_bytes}
    stamp.write_text(json.dumps({**stats, "seed": seed}))
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write a synthetic corpus of pages in the seed layout.")
    ap.add_argument("out_dir", help="folder to write the pages to (e.g. bench/out/synth)")
    ap.add_argument("--pages", type=int, default=100_000, help="number of pages (default 100000)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    stats = generate(args.out_dir, args.pages, args.seed)
    dt = time.perf_counter() - t0
    print(f"{stats['pages']} pages, {stats['comments']} comments, {stats['bytes'] / 1e6:.1f} MB "
          f"in {args.out_dir} ({dt:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
