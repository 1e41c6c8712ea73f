"""Thread report: one self-contained HTML file of reply trees, flags and scores.

>>> from modkit import report
>>> report.write_report(["seeds/"], "report.html", flags="flagged.csv")

The file needs no network: CSS and JavaScript are inline, nothing is fetched. Each page shows
its article title and its reply tree as nested ``<details>`` elements (click a comment's header
to fold its replies), each comment's flags and scores as coloured badges, and the page's
problems (fewer comments found than declared...). At the top: counts, and filters by flag and by
author; a comment that does not match is hidden unless one of its replies matches, in which case
it stays as dimmed context. All page text is HTML-escaped: a comment holding ``<script>`` shows
as text; control characters, bidi overrides and zero-width characters show as marked stand-ins
(``<U+202E>``, ``␛``: :mod:`modkit.safetext`). Replies nest up to :data:`MAX_NESTING` levels;
deeper ones follow their parent at that level, each with its depth (built without recursion: a
100,000-deep reply chain is fine).
"""

from __future__ import annotations

import contextlib
import html
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self, TextIO

from modkit.errors import ModkitError
from modkit.review import iter_sheet_rows, parse_flags
from modkit.safeio import atomic_write, check_writable
from modkit.safetext import pieces, visible
from modkit.threads import Comment, Thread, iter_threads

#: Columns of the flag CSV that are not shown as badges (the comment itself and its bookkeeping).
#: Every ``p_<flag>`` column is shown as a score badge, every other column (a task's most likely
#: value, such as ``stance``) as a value badge: a task added to the schema shows up with no code
#: change.
_NOT_BADGES = frozenset({
    "comment_id", "doc", "parent_id", "depth", "author", "timestamp", "text", "context", "flags",
    "reasons", "priority", "model", "text_sha", "decision", "reject_code", "note", "labels", "uncertainty",
})


@dataclass(frozen=True)
class FlagInfo:
    """What ``modkit flag`` said about one comment (a row of the flag CSV)."""

    flags: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)  #: p_<flag> -> score
    values: dict[str, str] = field(default_factory=dict)  #: task -> most likely value (stance)
    reasons: str = ""
    priority: str = ""
    model: str = ""
    decision: str = ""  #: a moderator's decision, when the CSV came back reviewed


def read_flags(path: str | Path) -> dict[str, FlagInfo]:
    """The flag CSV (as written by ``modkit flag`` or re-saved by a spreadsheet), by comment id."""
    return dict(iter_flags(path))


def iter_flags(path: str | Path) -> Iterator[tuple[str, FlagInfo]]:
    """The rows of the flag CSV at ``path`` as (comment id, :class:`FlagInfo`), in file order."""
    for number, cells in iter_sheet_rows(path):  # streamed: a flag CSV of every comment need not fit in memory
        cid = cells.get("comment_id", "").strip()
        if not cid:
            raise ModkitError(f"{path}: row {number}: empty comment_id")
        scores: dict[str, float] = {}
        values: dict[str, str] = {}
        for col, cell in cells.items():
            raw = cell.strip()
            if not raw or col in _NOT_BADGES:
                continue
            if col.startswith("p_"):
                try:
                    scores[col] = float(raw.replace(",", "."))
                except ValueError:
                    raise ModkitError(f"{path}: row {number}: {col} {raw!r} is not a number") from None
            elif len(raw) <= 40:
                values[col] = raw
        yield cid, FlagInfo(
            flags=parse_flags(cells.get("flags", "")), scores=scores, values=values,
            reasons=cells.get("reasons", "").strip(), priority=cells.get("priority", "").strip(),
            model=cells.get("model", "").strip(), decision=cells.get("decision", "").strip().lower(),
        )


class FlagIndex(Mapping[str, FlagInfo]):
    """The flag CSV by comment id, kept in a temporary SQLite file instead of memory (a flag
    CSV of every comment of a large archive would not fit): what :func:`write_report` reads,
    so the report's memory stays flat. A comment id that appears twice keeps its last row, as
    :func:`read_flags` does. Close it (or use it as a context manager) to remove the file."""

    def __init__(self, path: str | Path) -> None:
        import sqlite3

        self._dir = tempfile.TemporaryDirectory(prefix="modkit-report-")
        self._db = sqlite3.connect(Path(self._dir.name) / "flags.sqlite")
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE flags (id TEXT PRIMARY KEY, info TEXT NOT NULL)")
        rows = ((cid, json.dumps([list(i.flags), i.scores, i.values, i.reasons, i.priority, i.model, i.decision]))
                for cid, i in iter_flags(path))
        self._db.executemany("INSERT OR REPLACE INTO flags VALUES (?, ?)", rows)
        self._db.commit()
        self._len = self._db.execute("SELECT count(*) FROM flags").fetchone()[0]

    def __getitem__(self, cid: str) -> FlagInfo:
        row = self._db.execute("SELECT info FROM flags WHERE id = ?", (cid,)).fetchone()
        if row is None:
            raise KeyError(cid)
        f, scores, values, reasons, priority, model, decision = json.loads(row[0])
        return FlagInfo(tuple(f), scores, values, reasons, priority, model, decision)

    def __iter__(self) -> Iterator[str]:
        return (r[0] for r in self._db.execute("SELECT id FROM flags"))

    def __len__(self) -> int:
        return self._len

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class ReportSummary:
    pages: int = 0
    comments: int = 0
    flagged: int = 0
    by_flag: Counter = field(default_factory=Counter)
    unmatched_flags: int = 0  #: flag CSV rows whose comment is on none of the pages


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _v(text: object, keep_layout: bool = False) -> str:
    """Page text for the reader: HTML-escaped, and each control, bidi override or zero-width
    character shown as a marked stand-in (``<U+202E>``, ``␛``) instead of acting on the page."""
    out = []
    for piece, stand_in in pieces(str(text), keep_layout=keep_layout):
        out.append(f'<span class="ctl" title="hidden character in the page">{_e(piece)}</span>' if stand_in
                   else _e(piece))
    return "".join(out)


def _a(text: object) -> str:
    """Page text for an attribute (ids, filter values): escaped, controls shown :func:`visible`."""
    return _e(visible(str(text)))


def _score_class(p: float) -> str:
    return "hi" if p >= 0.5 else "mid" if p >= 0.25 else "lo"


#: Reply levels nested as HTML elements; deeper replies are placed beside their parent, each
#: marked with its depth (browsers cap element nesting, and 5,000 nested levels help no reader).
MAX_NESTING = 40


def _comment_open(c: Comment, info: FlagInfo, replies: int, beside: bool) -> str:
    """A comment's ``<details>`` up to the opening of its replies' container."""
    badges = "".join(f'<span class="badge flag flag-{_a(f.lower())}">{_v(f)}</span>' for f in info.flags)
    for col, p in info.scores.items():
        badges += f'<span class="badge score {_score_class(p)}" title="{_a(col)}">{_v(col[2:])} {p:.2f}</span>'
    for col, v in info.values.items():
        badges += f'<span class="badge value value-{_a(col)}" title="{_a(col)}">{_v(v)}</span>'
    if info.decision:
        badges += f'<span class="badge decision">{_v(info.decision)}</span>'
    if c.status and c.status != "approved":  # the platform's own decision (a comment-system export)
        why = f": {c.status_reason}" if c.status_reason else ""
        badges += (f'<span class="badge status status-{_a(c.status)}" title="the platform\'s decision">'
                   f'{_v(c.status + why)}</span>')
    reasons = f'<div class="reasons">why: {_v(info.reasons)}</div>' if info.reasons else ""
    text = _v(c.text, keep_layout=True) if c.text else '<span class="none">(empty comment)</span>'
    n = f'<span class="replies">{replies} repl{"y" if replies == 1 else "ies"}</span>' if replies else ""
    deep = (f'<span class="deep">depth {c.depth}, replies to <a href="#c-{_a(c.parent_id)}">{_v(c.parent_id)}</a></span>'
            if beside else "")
    return (
        f'<details open class="comment{" beside" if beside else ""}" id="c-{_a(c.id)}" data-id="{_a(c.id)}" '
        f'data-author="{_a(c.author)}" data-flags="{_a(" ".join(info.flags))}" data-depth="{c.depth}">'
        f'<summary>{deep}<span class="author">{_v(c.author or "(no author)")}</span>'
        f'<time>{_v(c.timestamp or "no time")}</time>{badges}{n}</summary>'
        f'<div class="body"><div class="text">{text}</div>{reasons}'
        f'<div class="meta">{_v(c.id)}</div></div>'
        f'<div class="children">'
    )


_CLOSE = "</div></details>"


def _tree_html(roots: list[Comment], flags: Mapping[str, FlagInfo], kids: dict[str, list[Comment]]) -> str:
    """The nested ``<details>`` of a reply tree: iterative (no recursion limit) and linear.

    Replies nest up to :data:`MAX_NESTING` levels; a deeper reply closes at once and its own
    replies follow it in the same container ("beside"), each saying its depth and parent."""
    parts: list[str] = []
    stack: list[tuple[Comment, int] | None] = [(c, 0) for c in reversed(roots)]  # None: close a comment
    while stack:
        item = stack.pop()
        if item is None:
            parts.append(_CLOSE)
            continue
        c, level = item
        replies = kids.get(c.id, [])
        beside = level >= MAX_NESTING
        parts.append(_comment_open(c, flags.get(c.id, FlagInfo()), len(replies), beside))
        if beside:  # closed now; its replies come after it, in the same container
            parts.append(_CLOSE)
        else:
            stack.append(None)
        stack.extend((k, level + 1) for k in reversed(replies))
    return "".join(parts)


def _page_html(t: Thread, flags: Mapping[str, FlagInfo]) -> str:
    kids: dict[str, list[Comment]] = {}
    for c in t.comments:
        kids.setdefault(c.parent_id if c.parent_id in t else "", []).append(c)
    declared = "" if t.declared is None else f" of {t.declared} declared"
    flagged = sum(1 for c in t.comments if flags.get(c.id, FlagInfo()).flags)
    if t.comments:
        body = _tree_html(kids.get("", []), flags, kids)
        count = f"{t.found} comments{declared}, {flagged} flagged, {len(t.authors)} authors"
    else:
        what = "no comment section" if not t.has_comment_section else "a comment section with no comments"
        body = f'<p class="empty">No comments: this page has {what}.</p>'
        count = "no comments"
    problems = "".join(
        f"<li>{_v(p.message)}</li>" for p in t.problems if p.kind != "no_comment_section"
    )
    problems = f'<ul class="problems">{problems}</ul>' if problems else ""
    return (
        f'<section class="page" id="page-{_a(t.doc)}" data-doc="{_a(t.doc)}">'
        f'<h2>{_v(t.title or t.doc)}</h2>'
        f'<p class="pageinfo"><code>{_v(t.doc)}</code> · {_e(count)}</p>{problems}'
        f'<div class="tree">{body}</div></section>'
    )


_CSS = """
:root{--fg:#1d2330;--muted:#667085;--line:#d0d5dd;--bg:#f8f9fb}
*{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg);margin:0}
header{position:sticky;top:0;background:#fff;border-bottom:1px solid var(--line);padding:10px 24px;z-index:2}
header h1{font-size:18px;margin:0 0 6px}
.counts span{display:inline-block;margin-right:14px;color:var(--muted)}.counts b{color:var(--fg)}
.filters{margin-top:6px}.filters label{margin-right:16px;color:var(--muted)}
.filters select{font:inherit;padding:2px 4px}#shown{color:var(--muted)}
main{padding:8px 24px 40px;max-width:1100px}
.page{background:#fff;border:1px solid var(--line);border-radius:8px;margin:16px 0;padding:8px 16px 12px}
.page h2{font-size:17px;margin:6px 0 2px}.pageinfo{color:var(--muted);margin:0 0 8px;font-size:13px}
.problems{color:#9a3412;font-size:13px;margin:0 0 8px}
.empty{color:var(--muted);font-style:italic}
details.comment{border-left:3px solid var(--line);margin:6px 0 6px 0;padding-left:10px}
details.comment details.comment{margin-left:14px}
details.comment[data-flags]:not([data-flags=""]){border-left-color:#f97066}
summary{cursor:pointer;list-style-position:outside}
.author{font-weight:600;margin-right:8px}time{color:var(--muted);font-size:13px;margin-right:8px}
.replies{color:var(--muted);font-size:12px;margin-left:6px}
.text{white-space:pre-wrap;overflow-wrap:anywhere;margin:2px 0}.none{color:var(--muted);font-style:italic}
.reasons{font-size:12px;color:#9a3412}.meta{font-size:11px;color:#98a2b3}
.badge{display:inline-block;font-size:11.5px;border-radius:10px;padding:0 7px;margin:0 3px;border:1px solid transparent}
.flag{color:#fff;background:#667085;font-weight:600}
.status{background:#f2f4f7;border-color:#98a2b3;color:#344054;font-style:italic}
.status-pending{border-color:#fec84b;color:#93370d}
.flag-abusive{background:#d92d20}.flag-uncivil{background:#f79009}.flag-off_topic{background:#1570ef}
.flag-repeat_post{background:#7a5af8}.flag-links{background:#0e9384}.flag-shouting{background:#c11574}
.score.hi{background:#fee4e2;border-color:#fda29b;color:#912018}
.score.mid{background:#fef0c7;border-color:#fec84b;color:#93370d}
.score.lo{background:#f2f4f7;border-color:#e4e7ec;color:#475467}
.value{background:#ecfdf3;color:#05603a;border-color:#a6f4c5}
.decision{background:#f4ebff;color:#53389e;border-color:#d6bbfb}
.hidden{display:none}.context>summary,.context>.body{opacity:.45}
.ctl{font:11px ui-monospace,monospace;color:#b42318;background:#fef3f2;border:1px solid #fecdca;border-radius:3px;padding:0 2px}
.deep{font-size:12px;color:#9a3412;margin-right:8px}
"""

_JS = """
(function(){
  var flagSel=document.getElementById('flag-filter'), authSel=document.getElementById('author-filter');
  var shown=document.getElementById('shown');
  function matches(el){
    var f=flagSel.value, a=authSel.value, flags=(el.dataset.flags||'').split(' ').filter(Boolean);
    var okF = f==='' || (f==='*' ? flags.length>0 : f==='-' ? flags.length===0 : flags.indexOf(f)>=0);
    var okA = a==='' || el.dataset.author===a;
    return okF && okA;
  }
  function apply(){
    var n=0, all=document.querySelectorAll('details.comment');
    // children before parents: a parent stays (dimmed) when a reply matches
    for(var i=all.length-1;i>=0;i--){
      var el=all[i], m=matches(el), kid=false, kids=el.querySelector(':scope>.children').children;
      for(var j=0;j<kids.length;j++){ if(!kids[j].classList.contains('hidden')) kid=true; }
      el.classList.toggle('hidden', !m && !kid);
      el.classList.toggle('context', !m && kid);
      if(m) n++;
    }
    document.querySelectorAll('section.page').forEach(function(p){
      var any=p.querySelector('details.comment:not(.hidden)'), has=p.querySelector('details.comment');
      p.classList.toggle('hidden', !!has && !any && (flagSel.value!=='' || authSel.value!==''));
    });
    shown.textContent = 'showing '+n+' of '+all.length+' comments';
  }
  flagSel.addEventListener('change',apply); authSel.addEventListener('change',apply);
  document.getElementById('expand').addEventListener('click',function(){
    document.querySelectorAll('details.comment').forEach(function(d){d.open=true});});
  document.getElementById('collapse').addEventListener('click',function(){
    document.querySelectorAll('details.comment').forEach(function(d){d.open=false});});
  apply();
})();
"""


def build_report(
    threads: Iterable[Thread], flags: Mapping[str, FlagInfo] | None = None, title: str = "modkit thread report",
    summary: ReportSummary | None = None,
) -> str:
    """The report as one HTML string (inline CSS and JS, no external resource)."""
    import io

    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
        buf = io.StringIO()
        stream_report(threads, buf, spool, flags, title, summary)
        return buf.getvalue()


def stream_report(
    threads: Iterable[Thread], fh: TextIO, spool: TextIO, flags: Mapping[str, FlagInfo] | None = None,
    title: str = "modkit thread report", summary: ReportSummary | None = None,
) -> ReportSummary:
    """Write the report to ``fh``, one page at a time: each page's HTML goes to ``spool`` (a
    temporary file) as it is read, while the counts and the author list (shown at the top) are
    gathered; then the header, the spooled pages and the footer go to ``fh``. Memory holds one
    page, the flags and the set of author names, not every page: it stays flat as pages grow."""
    flags = flags or {}
    s = summary if summary is not None else ReportSummary()
    s.pages = s.comments = s.flagged = 0
    by_flag: Counter[str] = Counter()
    matched: set[str] = set()
    authors: set[str] = set()
    for t in threads:
        s.pages += 1
        for c in t.comments:
            s.comments += 1
            info = flags.get(c.id)
            if info is not None:
                matched.add(c.id)
                if info.flags:
                    s.flagged += 1
                    by_flag.update(info.flags)
            if c.author:
                authors.add(c.author)
        spool.write(_page_html(t, flags))
    s.by_flag = by_flag
    s.unmatched_flags = len(flags) - len(matched)  # the ids of the flags are distinct
    names = sorted(authors, key=str.lower)
    # an <option> holds text only: controls are shown by their stand-ins, as in data-author
    flag_opts = "".join(f'<option value="{_a(f)}">{_a(f)} ({n})</option>' for f, n in sorted(s.by_flag.items()))
    author_opts = "".join(f'<option value="{_a(a)}">{_a(a)}</option>' for a in names)
    counts = (
        f'<span><b id="n-pages">{s.pages}</b> pages</span>'
        f'<span><b id="n-comments">{s.comments}</b> comments</span>'
        f'<span><b id="n-flagged">{s.flagged}</b> flagged</span>'
        + "".join(f'<span class="count-flag"><b>{n}</b> {_v(f)}</span>' for f, n in sorted(s.by_flag.items()))
        + f'<span><b>{len(names)}</b> authors</span>'
    )
    meta = json.dumps({"pages": s.pages, "comments": s.comments, "flagged": s.flagged}).replace("<", "\\u003c")
    fh.write(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
        f"<title>{_a(title)}</title><style>{_CSS}</style></head><body>"
        f'<header><h1>{_v(title)}</h1><div class="counts">{counts}</div>'
        '<div class="filters">'
        '<label>flag <select id="flag-filter"><option value="">all comments</option>'
        f'<option value="*">any flag</option><option value="-">not flagged</option>{flag_opts}</select></label>'
        f'<label>author <select id="author-filter"><option value="">all authors</option>{author_opts}</select></label>'
        '<button id="expand" type="button">expand all</button> <button id="collapse" type="button">collapse all</button>'
        ' <span id="shown"></span></div></header>'
        "<main>"
    )
    if s.pages:
        spool.seek(0)
        shutil.copyfileobj(spool, fh, 1 << 20)
    else:
        fh.write('<p class="empty">No pages.</p>')
    fh.write(f"</main>"
             f'<script type="application/json" id="report-data">{meta}</script>'
             f"<script>{_JS}</script></body></html>\n")
    return s


def write_report(
    sources: str | Path | Iterable[str | Path], out: str | Path, flags: str | Path | None = None,
    title: str = "modkit thread report",
) -> ReportSummary:
    """Read the pages (and the flag CSV, if given) and write the HTML report to ``out``, page by
    page (:func:`stream_report`), atomically (:func:`modkit.safeio.atomic_write`: an unwritable
    ``out`` fails first, a failed run leaves no half-written report)."""
    out = check_writable(out)
    summary = ReportSummary()
    with contextlib.ExitStack() as stack:
        info: Mapping[str, FlagInfo] = stack.enter_context(FlagIndex(flags)) if flags else {}
        spool = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8", newline=""))
        with atomic_write(out, "w", encoding="utf-8", newline="") as fh:
            stream_report(iter_threads(sources), fh, spool, info, title, summary)
    return summary
