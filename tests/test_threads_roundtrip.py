"""Property tests of the seed page reader.

1. Round trip: random reply trees written with ``render_page`` parse back identically.
2. The fast reader (marker regex, body slices) agrees with a plain line-by-line reading of the
   same rules (``reference_comments`` below) on random, messy comment sections.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modkit.threads import PageComment, parse_page, render_page
from modkit.threads import seedpage as sp

# -- 1. round trip ------------------------------------------------------------------------------
_chars = st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"))
_odd = st.sampled_from(["Jos\u00e9", "\u674e\u96f7", "O'Brien", "=SUM(A1)", "<b>x</b>", "a \u2022 b", "\U0001f642",
                        "1. not a header", "Reply", "j. von hettlingen", "\u200b", "tab\there"])


def _clean(s: str) -> bool:
    return bool(s) and s == s.strip() and "\n" not in s and "\r" not in s


authors = st.one_of(_odd, st.text(_chars, min_size=1, max_size=20)).filter(_clean)
body_lines = st.one_of(_odd, st.text(_chars, min_size=1, max_size=60)).filter(
    lambda s: _clean(s) and not sp.ambiguous_body_line(s)
)
paragraphs = st.lists(body_lines, min_size=1, max_size=3).map("\n".join)
bodies = st.one_of(st.just(""), st.lists(paragraphs, min_size=1, max_size=4).map("\n\n".join))
timestamps = st.one_of(
    st.just(""),
    st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2035, 12, 31)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M")
    ),
)


@st.composite
def trees(draw):
    n = draw(st.integers(0, 14))
    out = []
    depth = -1
    for _ in range(n):
        depth = draw(st.integers(0, min(depth + 1, 7)))
        out.append(PageComment(draw(authors), draw(timestamps), draw(bodies), depth))
    return out


titles = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd")), min_size=1, max_size=30)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(comments=trees(), title=titles, reply_links=st.booleans(), crlf=st.booleans())
def test_random_trees_round_trip_through_the_seed_layout(comments, title, reply_links, crlf):
    page = render_page(comments, title=title, date="2013-06-06", reply_links=reply_links)
    if crlf:
        page = page.replace("\n", "\r\n")
    t = parse_page(page.encode("utf-8"), Path("rt.txt"))
    assert t.title == title
    assert t.found == len(comments) and not t.count_mismatch
    assert [(c.author, c.timestamp, c.text, c.depth) for c in t.comments] == [
        (c.author, c.timestamp, c.text, c.depth) for c in comments
    ]
    # parents: the nearest earlier comment one level up
    for i, c in enumerate(t.comments):
        expected = next((p.id for p in reversed(t.comments[:i]) if p.depth == c.depth - 1), "") if c.depth else ""
        assert c.parent_id == expected
    # the only problems are the timestamps the tree leaves out
    assert [p.kind for p in t.problems] == ["missing_timestamp"] * sum(not c.timestamp for c in comments)
    # and writing the parsed thread again gives the same page
    assert render_page(t.comments, title=title, date="2013-06-06", reply_links=reply_links) == page.replace("\r\n", "\n")


def test_round_trip_of_the_seeds_themselves(seeds):
    from modkit import threads

    for t in threads.read(seeds):
        again = parse_page(render_page(t.comments, title=t.title).encode(), Path(t.source))
        assert [(c.id, c.parent_id, c.depth, c.author, c.timestamp, c.text) for c in again.comments] == [
            (c.id, c.parent_id, c.depth, c.author, c.timestamp, c.text) for c in t.comments
        ]


# -- 2. the fast reader against a line-by-line reading of the same rules --------------------------
def reference_comments(text: str, path: Path):
    """The reader's rules applied one line at a time, as plainly as possible."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\t" in text:
        text = sp._expand_leading_tabs(text)
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if sp._SOUNDOFF.fullmatch(line))
    lines = lines[start + 1:]
    first_line = start + 2
    problems, done, stack = [], [], []
    open_, expect_header, ended, n = None, True, False, len(lines)

    def close(c):
        if c is None:
            return
        if not c["ts"]:
            problems.append(("missing_timestamp", c["line"]))
        done.append(c)

    def next_number(c):
        for x in [c, *reversed(done)]:
            if x["num"] is not None:
                return x["num"] + 1
        return 1

    for i, line in enumerate(lines):
        lineno = first_line + i
        if not line.strip():
            if open_ is not None and not expect_header:
                open_["body"].append("")
            continue
        if re.match(r"^[ \t]*Post a comment[ \t]*$", line, re.IGNORECASE):
            ended = True
            break
        if open_ is not None and not expect_header:
            ts = sp._TIMESTAMP.match(line)
            if ts:
                open_["ts"] = sp._iso(ts)
                expect_header = True
                continue
        top = sp._TOP.match(line)
        reply = None if top else sp._REPLY.match(line)
        header = top or reply
        is_header = header is not None and (
            expect_header
            or ((i + 1 >= n or not lines[i + 1].strip()) and open_ is not None
                and len(header.group(1)) <= open_["indent"] + 2
                and (top is None or int(top.group(2)) == next_number(open_)))
        )
        if not is_header:
            if open_ is None:
                continue
            if expect_header and open_["ts"]:
                if line.strip().lower() == "reply":
                    continue
                problems.append(("bad_row", lineno))
            open_["body"].append(line)
            continue
        close(open_)
        indent = len(header.group(1))
        c = {"indent": indent, "author": (top.group(3) if top else reply.group(2)).strip(), "line": lineno,
             "num": int(top.group(2)) if top else None, "body": [], "ts": "", "depth": 0, "parent": None}
        if top:
            stack = [c]
        else:
            while stack and stack[-1]["indent"] >= indent:
                stack.pop()
            if stack:
                parent = stack[-1]
                c["depth"], c["parent"] = parent["depth"] + 1, parent
                if indent - parent["indent"] > 2 and parent["depth"] + 1 != (indent - 2) // 2:
                    problems.append(("skipped_level", lineno))
            else:
                problems.append(("orphan", lineno))
            stack.append(c)
        open_ = c
        expect_header = False
    close(open_)
    if not ended:
        problems.append(("truncated", first_line + n - 1))
    out = []
    for c in done:
        paragraphs = [[]]
        for line in c["body"]:
            if line.strip():
                paragraphs[-1].append(line.strip())
            elif paragraphs[-1]:
                paragraphs.append([])
        body = "\n\n".join("\n".join(p) for p in paragraphs if p)
        parent = c["parent"]
        out.append((c["author"], c["ts"], body, c["depth"], done.index(parent) + 1 if parent else 0, c["line"]))
    return out, problems


_messy_lines = st.one_of(
    st.builds(lambda ind, n, a: " " * ind + f"{n}. {a}", st.integers(0, 9), st.integers(1, 4), authors),
    st.builds(lambda ind, sp_, a: " " * ind + "\u2022" + sp_ + a, st.integers(0, 12), st.sampled_from(["", " "]), authors),
    st.builds(
        lambda ind, d, tail: " " * ind + sp.format_timestamp(d.strftime("%Y-%m-%dT%H:%M")) + tail,
        st.integers(0, 10), st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1)),
        st.sampled_from(["", " |", " | Reply", " |Reply  ", "|"]),
    ),
    st.sampled_from(["", "", "", "   ", "\t", "    \t  ", "Post a comment", "  post a COMMENT ", "Reply", "    Reply",
                     "February 30, 2013 at 7:15 pm |", "June 6, 2013 at 13:75 am |", "  JUNE 6, 2013 AT 8:33 AM",
                     "soundoff (3 Responses)", "\u00a0 2. nbsp", "1.no space", "\t\u2022 tabbed", "    Stalin, 1939"]),
    st.builds(lambda ind, s: " " * ind + s, st.integers(0, 10), body_lines),
)


@st.composite
def _comment_block(draw):
    """A comment roughly as pages write it (header, blank, body with blank runs, timestamp),
    at a random level, with parts left out now and then."""
    depth = draw(st.integers(0, 4))
    pad = " " * (2 + 2 * depth)
    header = f"  {draw(st.integers(1, 4))}. {draw(authors)}" if depth == 0 else f"{pad}\u2022 {draw(authors)}"
    body = []
    for line in draw(st.lists(st.one_of(body_lines, st.just(""), st.just("  ")), max_size=6)):
        body.append(pad + "  " + line if line else line)
    stamp = pad + "  " + sp.format_timestamp(draw(timestamps.filter(bool))) + draw(st.sampled_from([" |", " | Reply"]))
    parts = [header, "", *body, "", stamp]
    drop = draw(st.sets(st.integers(0, len(parts) - 1), max_size=1)) if draw(st.booleans()) else set()
    return [p for i, p in enumerate(parts) if i not in drop]


_sections = st.lists(st.one_of(_comment_block(), st.lists(_messy_lines, max_size=3)), max_size=12).map(
    lambda blocks: [line for block in blocks for line in block]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.one_of(_sections, st.lists(_messy_lines, max_size=40)), end=st.booleans(), declared=st.integers(0, 9))
def test_fast_reader_agrees_with_a_line_by_line_reading(lines, end, declared):
    text = f"Title\n\nJune 6th, 2013\n\nsoundoff ({declared} Responses)\n" + "\n".join(lines)
    if end:
        text += "\n\nPost a comment\n"
    path = Path("messy.txt")
    t = parse_page(text.encode("utf-8"), path)
    expected, expected_problems = reference_comments(text, path)
    pos = {c.id: c.position for c in t.comments}
    got = [(c.author, c.timestamp, c.text, c.depth, pos.get(c.parent_id, 0), c.line) for c in t.comments]
    assert got == expected
    section_problems = [(p.kind, p.line) for p in t.problems if p.kind not in ("count_mismatch", "decode")]
    assert section_problems == expected_problems


def test_synthetic_bench_pages_parse_back_to_what_was_generated():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.synth import render_synthetic_page

    for i in range(40):
        name, text, n = render_synthetic_page(i, seed=7)
        t = parse_page(text.encode(), Path(name))
        assert t.found == n
        assert [p.kind for p in t.problems if p.kind not in ("count_mismatch", "no_comment_section")] == []
    assert render_synthetic_page(3, seed=7) == render_synthetic_page(3, seed=7)
    assert render_synthetic_page(3, seed=7) != render_synthetic_page(3, seed=8)


_furniture = st.sampled_from(["Skip to: Content", "skip to x", "\u017fkip to: x", "10:55 AM ET", "\u0663:22 AM ET",
                              "\u2022 x", "\u00ab Previous entry", "Subscribe now", "Follow Christiane on social media:",
                              "CNN welcomes a lively and courteous discussion as long as", "Topic: x", "Next entry \u00bb"])


@settings(max_examples=200, deadline=None)
@given(line=st.one_of(_furniture, st.builds(lambda a, b: a + b, _furniture, st.text(_chars, max_size=10)),
                      st.builds(lambda a, b: a + b, st.text(_chars, max_size=10), _furniture), body_lines))
def test_fast_boilerplate_test_agrees_with_the_regex(line):
    line = line.strip()
    if line:
        assert sp._is_boilerplate(line) == bool(sp._BOILERPLATE.match(line))
