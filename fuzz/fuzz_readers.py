"""Fuzz modkit's input readers: for any bytes, a result or one ModkitError, never another exception.

    .venv/bin/python fuzz/fuzz_readers.py                    # every target, 3 minutes in all
    .venv/bin/python fuzz/fuzz_readers.py --minutes 10 --target csv

Targets (each reads a real file, as the commands do):

- ``page``: the seed-page reader (``modkit threads``/``flag`` on a ``.txt``);
- ``csv``, ``jsonl``: the comment-export readers (``.jsonl`` also goes through the sniffers of
  the platform formats: Coral, Reddit, Hacker News); ``json``: the same inputs as ``.json``;
- ``review``: the flagged-CSV reader of ``modkit review`` and ``modkit report --flags``, with
  every row validated against the seed pages;
- ``labels``: ``modkit labels import`` of a CSV or JSONL (validation only, nothing written).

Inputs are random bytes, and text built from each format's own pieces (headers, reply markers at
random indentation, timestamps, quotes, delimiters, line ends, NUL, invalid UTF-8, deep JSON...),
then mutated. Reader results are also checked for the tree's invariants (every parent known,
depth = parent's + 1, ids unique). Prints inputs tried and crashes found per target; a crash is
printed with its input (repr) and traceback, and the run exits 1.

tests/test_fuzz.py runs the same targets with a few hundred examples each.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"

from modkit.errors import ModkitError
from modkit.threads import Thread

# -- strategies ----------------------------------------------------------------------------------
_WORDS = st.sampled_from([
    "", " ", "word", "spam", "ok", "Reply", "Post a comment", "soundoff (3 Responses)", "soundoff (1,000 Responses)",
    "June 6, 2013 at 8:33 am |", "June 6, 2013 at 8:33 am | Reply", "February 30, 2013 at 7:75 pm",
    "November 8th, 2012", "1.", "2. ", "  1. anna", "  2. bob", "\u2022 carl", "    \u2022 dora", "\t\u2022 tab",
    "\u2022", "caf\u00e9", "\u202e", "\ufeff", "\u2028", "=1+1", "'=x", "\x00", "\x1b[2J", "\r", "\t",
])
_LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r", "\n\n"])


@st.composite
def page_texts(draw: st.DrawFn) -> bytes:
    """A scraped page in (or near) the seed layout."""
    parts: list[str] = []
    if draw(st.booleans()):
        count = draw(st.one_of(st.integers(0, 10**6).map(str), st.sampled_from(["1,000", "0,", "9" * 5000])))
        parts += [draw(st.text(max_size=30)), "", f"soundoff ({count} Responses)"]
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.integers(0, 5))
        indent = " " * draw(st.one_of(st.integers(0, 12), st.just(5000)))
        if kind == 0:
            parts.append(f"{indent}{draw(st.integers(0, 10**7))}. {draw(st.text(max_size=8))}")
        elif kind == 1:
            parts.append(f"{indent}\u2022 {draw(st.text(max_size=8))}")
        elif kind == 2:
            parts.append(f"{indent}{draw(st.sampled_from(['June', 'may', 'Sept', 'December']))} "
                         f"{draw(st.integers(0, 40))}, {draw(st.integers(0, 99999))} at "
                         f"{draw(st.integers(0, 30))}:{draw(st.integers(0, 99)):02d} {draw(st.sampled_from(['am', 'pm', 'xm']))}"
                         f"{draw(st.sampled_from(['', ' |', ' | Reply']))}")
        elif kind == 3:
            parts.append(indent + draw(_WORDS))
        elif kind == 4:
            parts.append("")
        else:
            parts.append(draw(st.text(max_size=20)))
    if draw(st.booleans()):
        parts.append("Post a comment")
    end = draw(_LINE_ENDS)
    data = end.join(parts).encode("utf-8", "surrogatepass")
    return _mutate(draw, data)


@st.composite
def csv_texts(draw: st.DrawFn, header: tuple[str, ...] = ("id", "parent_id", "text")) -> bytes:
    """A CSV with (mostly) the given columns: quoted and unquoted cells, stray quotes, delimiters,
    cells with line ends, short and long rows."""
    delim = draw(st.sampled_from([",", ",", ";", "\t"]))
    cols = list(header) + draw(st.lists(st.sampled_from(["doc", "author", "timestamp", "position", "x", "id"]), max_size=3))
    if draw(st.integers(0, 9)) == 0:
        draw(st.randoms()).shuffle(cols)
    cell = st.one_of(
        st.sampled_from(["", "a", "b", "c", "1", "2", "-1", "x\"y", "\"q\"", "\"open", "close\"", "\"a\"\"b\"",
                         "\"multi\nline\"", "2013-06-06T08:33", "June 6, 2013 at 8:33 am", "1e400", "nan",
                         "=HYPERLINK()", "'=1", "approve", "reject", "escalate", "SPAM", "civil", "abusive",
                         "civility=civil", "ABUSIVE;OFF_TOPIC", "0.5", "\u00e9", "\x00", "\r"]),
        st.text(max_size=12),
    )
    lines = [delim.join(cols)]
    for _ in range(draw(st.integers(0, 12))):
        n = max(0, len(cols) + draw(st.integers(-2, 2)))
        lines.append(delim.join(draw(cell) for _ in range(n)))
    data = draw(_LINE_ENDS).join(lines)
    if draw(st.booleans()):
        data += "\n"
    data = draw(st.sampled_from(["", "", "", f"sep={delim}\n", "\ufeff", "\n\n"])) + data
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16", "cp1252"]))
    return _mutate(draw, data.encode(encoding, "replace" if encoding == "cp1252" else "surrogatepass"))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3),
    max_leaves=8,
)


@st.composite
def jsonl_texts(draw: st.DrawFn, keys: tuple[str, ...] = ("id", "parent_id", "text")) -> bytes:
    """JSONL lines: objects with (mostly) the given keys and any JSON values, plus lines that are
    not objects, not JSON, deeply nested, or hold lone surrogate escapes."""
    lines: list[str] = []
    ids = ["a", "b", "c", "d", ""]
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.integers(0, 9))
        if kind <= 5:
            rec = {k: draw(st.one_of(st.sampled_from(ids), _JSON)) for k in keys if draw(st.integers(0, 7))}
            rec.update(draw(st.dictionaries(st.sampled_from(["doc", "position", "timestamp", "author", "note",
                                                                "civility", "task", "value"]), _JSON, max_size=3)))
            lines.append(json.dumps(rec))
        elif kind == 6:
            lines.append(json.dumps(draw(_JSON)))
        elif kind == 7:
            lines.append(draw(st.sampled_from(['{"id": "a", "parent_id": "\\ud800"}', "[" * 5000 + "]" * 5000,
                                               '{"id": 1' + "0" * 5000 + ', "parent_id": ""}', "{", "nul\x00l",
                                               '{"id": NaN, "parent_id": Infinity}', ""])))
        else:
            lines.append(draw(st.text(max_size=20)))
    return _mutate(draw, "\n".join(lines).encode("utf-8", "surrogatepass"))


def _mutate(draw: st.DrawFn, data: bytes) -> bytes:
    """Sometimes flip, insert or delete a few bytes (invalid UTF-8, NUL, a BOM, a quote...)."""
    if not data or draw(st.integers(0, 2)) != 0:
        return data
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(buf)))
        op = draw(st.integers(0, 2))
        if op == 0:
            buf[i:i] = draw(st.sampled_from([b"\x00", b"\xff", b"\xc3", b"\xef\xbb\xbf", b'"', b"\r", b"\xe2\x80\xa2 "]))
        elif op == 1:
            del buf[i:i + draw(st.integers(1, 8))]
        elif i < len(buf):
            buf[i] = draw(st.integers(0, 255))
    return bytes(buf)


def any_bytes(structured: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    return st.one_of(structured, structured, structured, st.binary(max_size=300))


# -- targets -------------------------------------------------------------------------------------
def check_tree(t: Thread) -> None:
    """The invariants every reader promises of a thread."""
    ids = [c.id for c in t.comments]
    assert len(set(ids)) == len(ids), "duplicate ids"
    by_id = {c.id: c for c in t.comments}
    for c in t.comments:
        if c.parent_id:
            assert c.parent_id in by_id, f"unknown parent {c.parent_id!r}"
            assert c.depth == by_id[c.parent_id].depth + 1, "depth is not parent's + 1"
        else:
            assert c.depth == 0, "top-level comment with depth"
    assert len(list(t.walk())) == len(ids), "walk() misses comments"
    for p in t.problems:
        assert "\n" not in p.message, "multi-line problem"


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


class Targets:
    """Each target reads one input written to a real file; ModkitError is a fine answer."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._corpus = None
        self._index = None

    def page(self, data: bytes) -> None:
        from modkit.threads import read_file

        for t in read_file(_write(self.folder, "page.txt", data)):
            check_tree(t)

    def csv(self, data: bytes) -> None:
        from modkit.threads import read_file

        for t in read_file(_write(self.folder, "export.csv", data)):
            check_tree(t)

    def jsonl(self, data: bytes) -> None:
        from modkit.threads import read_file

        for t in read_file(_write(self.folder, "export.jsonl", data)):
            check_tree(t)

    def json(self, data: bytes) -> None:
        from modkit.threads import read_file

        for t in read_file(_write(self.folder, "export.json", data)):
            check_tree(t)

    def review(self, data: bytes) -> None:
        from modkit import review
        from modkit.report import read_flags

        if self._index is None:
            self._index = review.PageIndex.read(SEEDS)
        path = _write(self.folder, "flagged.csv", data)
        try:
            read_flags(path)
        except ModkitError:
            pass
        review.plan_review([path], "fuzz", pages=self._index, labels=self.folder / "labels")

    def labels(self, data: bytes, suffix: str = ".csv") -> None:
        from modkit.labels import Corpus, LabelStore, plan_import, schema_for

        if self._corpus is None:
            self._corpus = Corpus.read(SEEDS)
        root = self.folder / "labels"
        plan_import(_write(self.folder, "import" + suffix, data), LabelStore(root), schema_for(root),
                    self._corpus, annotator="fuzz")

    def labels_jsonl(self, data: bytes) -> None:
        self.labels(data, ".jsonl")


def seed_ids(n: int = 4) -> list[str]:
    from modkit.threads import read

    return [c.id for t in read(SEEDS) for c in t.comments][:n]


def strategies() -> dict[str, st.SearchStrategy[bytes]]:
    """Inputs per target. The review and label inputs use real seed comment ids, so rows get past
    the id check into the rest of the validation."""
    ids = tuple(seed_ids())
    review_head = ("comment_id", "decision", "reject_code", "labels", "flags", "note", "p_abusive", "doc")
    return {
        "page": any_bytes(page_texts()),
        "csv": any_bytes(csv_texts()),
        "jsonl": any_bytes(jsonl_texts()),
        "json": any_bytes(jsonl_texts()),
        "review": any_bytes(st.one_of(csv_texts(review_head), _with_ids(csv_texts(review_head), ids))),
        "labels": any_bytes(st.one_of(csv_texts(("comment_id", "civility", "topic", "note")),
                                      _with_ids(csv_texts(("comment_id", "task", "value", "annotator")), ids))),
        "labels_jsonl": any_bytes(_with_ids(jsonl_texts(("comment_id", "civility", "topic", "annotator")), ids)),
    }


def _with_ids(strategy: st.SearchStrategy[bytes], ids: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    """Inputs whose placeholder ids ``a``..``d`` are replaced by real comment ids."""
    def put(data: bytes) -> bytes:
        for short, real in zip((b'"a"', b'"b"', b'"c"', b'"d"'), ids):
            data = data.replace(short, b'"' + real.encode() + b'"')
        for short, real in zip((b",a,", b",b,", b",c,", b",d,"), ids):
            data = data.replace(short, b"," + real.encode() + b",")
        return data.replace(b"\na,", b"\n" + ids[0].encode() + b",")
    return strategy.map(put)


def run_one(target: Callable[[bytes], None], data: bytes) -> BaseException | None:
    """Run ``target`` on ``data``: None when it gives a result or a ModkitError, else the exception."""
    try:
        target(data)
    except ModkitError:
        return None
    except Exception as exc:  # noqa: BLE001 - any other exception is the crash we look for
        return exc
    return None


# -- the long run --------------------------------------------------------------------------------
TARGETS = ("page", "csv", "jsonl", "json", "review", "labels", "labels_jsonl")


def fuzz(name: str, seconds: float, folder: Path, max_examples: int = 200) -> tuple[int, list[tuple[bytes, str]]]:
    """Run target ``name`` for ``seconds``, in rounds of ``max_examples`` fresh random inputs:
    ``(inputs tried, distinct crashes as (input, traceback))``."""
    targets = Targets(folder)
    target = getattr(targets, name)
    tried = 0
    crashes: list[tuple[bytes, str]] = []
    seen: set[str] = set()
    stop = time.monotonic() + seconds

    @settings(max_examples=max_examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), derandomize=False)
    @given(strategies()[name])
    def body(data: bytes) -> None:
        nonlocal tried
        if time.monotonic() > stop:
            return
        tried += 1
        exc = run_one(target, data)
        if exc is not None:
            where = "".join(traceback.format_exception(exc)[-3:])
            key = f"{type(exc).__name__}:{traceback.extract_tb(exc.__traceback__)[-1][:3]}"
            if key not in seen:
                seen.add(key)
                crashes.append((data, "".join(traceback.format_exception(exc))))
                print(f"  CRASH {name}: {data[:300]!r}\n{where}", flush=True)

    while time.monotonic() < stop:  # hypothesis stops after max_examples; go on with a new seed
        body()
    return tried, crashes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=3.0, help="total time, shared by the targets")
    ap.add_argument("--target", action="append", choices=TARGETS, help="target(s) to fuzz (default: all)")
    args = ap.parse_args(argv)
    names = args.target or list(TARGETS)
    total_tried = total_crashes = 0
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="modkit-fuzz-") as tmp:
        for name in names:
            t0 = time.monotonic()
            tried, crashes = fuzz(name, args.minutes * 60 / len(names), Path(tmp))
            total_tried += tried
            total_crashes += len(crashes)
            print(f"{name:13s} {tried:7d} inputs tried, {len(crashes)} distinct crashes, "
                  f"{time.monotonic() - t0:.0f} s", flush=True)
    print(f"total         {total_tried:7d} inputs tried, {total_crashes} distinct crashes, "
          f"{time.monotonic() - start:.0f} s")
    return 1 if total_crashes else 0


if __name__ == "__main__":
    sys.exit(main())
