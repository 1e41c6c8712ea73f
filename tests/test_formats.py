"""Real comment-system exports in: Disqus, WordPress WXR, Coral, Reddit, Hacker News, Discourse.

Every fixture in tests/fixtures/formats/ is pinned comment by comment (id, parent, depth, doc,
author, time, status, text), then the commands run on it for real: threads, flag, report and
labels import --from-status. Malformed files give one error line naming the file and the line
or element, and the other files still go through.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modkit import labels as L
from modkit import threads
from modkit.errors import ParseError
from modkit.labels.schema import SchemaError, parse_schema
from modkit.threads.formats import _common
from modkit.threads.formats.html import html_to_text, markdown_to_text
from modkit.threads.registry import format_for, read_file

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "formats"

# (file or folder, format, docs in order)
FIXTURES = [
    ("disqus.xml", "disqus", ["4140571921", "4140571922"]),
    ("wordpress.xml", "wordpress", ["41", "57"]),
    ("coral", "coral", ["0b6c33a4-story-0001", "0b6c33a4-story-0002"]),
    ("reddit.ndjson", "reddit", ["t3_2xg4ab"]),
    ("hackernews.jsonl", "hackernews", ["31337001"]),
    ("discourse.json", "discourse", ["4242"]),
]


def rows(source) -> list[tuple]:
    """(doc, id, parent_id, depth, author, timestamp, status, status_reason) of every comment."""
    return [(c.doc, c.id, c.parent_id, c.depth, c.author, c.timestamp, c.status, c.status_reason)
            for t in threads.read(source) for c in t.comments]


def texts(source) -> dict[str, str]:
    return {c.id: c.text for t in threads.read(source) for c in t.comments}


# --------------------------------------------------------------------------------------------
# Sniffing: the format comes from the content, not only the ending
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,fmt,docs", FIXTURES, ids=[f[1] for f in FIXTURES])
def test_each_fixture_is_read_as_its_format_with_its_threads(name, fmt, docs):
    pages = threads.read(FIX / name)
    assert [t.format for t in pages] == [fmt] * len(docs)
    assert [t.doc for t in pages] == docs
    assert all(t.sha256 and t.declared is None for t in pages)


def test_two_xml_formats_and_the_json_ones_are_told_apart_by_content_not_the_ending(tmp_path):
    for name, fmt, _ in FIXTURES:
        if (FIX / name).is_file():
            for suffix in {".xml"} if name.endswith(".xml") else {".json", ".jsonl", ".ndjson"}:
                copy = tmp_path / f"export{suffix}"
                shutil.copy(FIX / name, copy)
                if fmt == "discourse" and suffix != ".json":
                    continue
                assert format_for(copy).name == fmt, (name, suffix)
    # modkit's own JSONL export (id/parent_id) is still the generic reader, whatever the ending
    own = tmp_path / "own.jsonl"
    own.write_text('{"id": "a", "parent_id": "", "text": "hi", "timestamp": "1370501580"}\n', encoding="utf-8")
    for suffix in (".jsonl", ".ndjson", ".json"):
        p = own.with_suffix(suffix)
        p.write_bytes(own.read_bytes())
        assert format_for(p).name == "jsonl"


def test_an_xml_file_of_no_known_export_is_one_clear_error(tmp_path):
    p = tmp_path / "feed.xml"
    p.write_text('<?xml version="1.0"?><rss version="2.0"><channel><item/></channel></rss>', encoding="utf-8")
    with pytest.raises(ParseError, match=r"feed\.xml: not a \.xml export modkit knows: expected one of: Disqus"):
        read_file(p)


# --------------------------------------------------------------------------------------------
# Disqus
# --------------------------------------------------------------------------------------------
def test_disqus_pins_every_post():
    assert rows(FIX / "disqus.xml") == [
        ("4140571921", "2266000001", "", 0, "maria_l", "2015-09-14T08:01", "approved", ""),
        ("4140571921", "2266000002", "2266000001", 1, "Road Warrior", "2015-09-14T09:15", "approved", ""),
        ("4140571921", "2266000003", "2266000002", 2, "maria_l", "2015-09-14T09:40", "approved", ""),
        ("4140571921", "2266000004", "", 0, "bestdeals99", "2015-09-14T10:02", "spam", ""),
        ("4140571922", "2266000005", "", 0, "bobk", "2015-09-15T11:20", "deleted", ""),
        ("4140571922", "2266000006", "2266000005", 1, "carol_w", "2015-09-15T11:45", "approved", ""),
    ]
    t = texts(FIX / "disqus.xml")
    assert t["2266000001"] == "Finally some money for the parks.\n\nAbout time!"
    assert t["2266000002"] == "Parks? Fix the roads first & then talk."
    assert t["2266000003"] == "Both, ideally.\nThe roads are in it too: the budget (https://news.example.com/budget.pdf)"
    assert t["2266000005"] == ""
    pages = threads.read(FIX / "disqus.xml")
    assert [p.title for p in pages] == ["City council passes the 2015 budget", "School board meets on Thursday"]
    assert pages[1].doc == "4140571922"  # the thread with an empty <id/> is read under its dsq:id
    assert [c.line for c in pages[0].comments] == [44, 59, 74, 90]  # the line of each <post>
    assert not any(p.problems for p in pages)


def test_no_email_or_ip_address_reaches_the_records():
    dump = json.dumps([list(threads.to_records(threads.read(FIX / n))) for n, _, _ in FIXTURES], ensure_ascii=False)
    for secret in ("maria@example.org", "198.51.100.7", "janet@example.com", "198.51.100.12", "192.0.2.10",
                   "editor@gazette.example.org"):
        assert secret not in dump


def _disqus(tmp_path: Path, posts: str, threads_xml: str | None = None, name: str = "d.xml") -> Path:
    threads_xml = threads_xml if threads_xml is not None else (
        '<thread dsq:id="T1"><id/><link>https://x.example/a</link><title>A</title></thread>')
    p = tmp_path / name
    p.write_text('<?xml version="1.0" encoding="utf-8"?>\n<disqus xmlns="http://disqus.com" '
                 'xmlns:dsq="http://disqus.com/disqus-internals">\n' + threads_xml + "\n" + posts + "\n</disqus>\n",
                 encoding="utf-8")
    return p


def _post(pid: str, thread: str = "T1", parent: str | None = None, text: str = "hi") -> str:
    par = f'<parent dsq:id="{parent}"/>' if parent else ""
    return (f'<post dsq:id="{pid}"><message><![CDATA[<p>{text}</p>]]></message><createdAt>2020-01-01T10:00:00Z</createdAt>'
            f'<isDeleted>false</isDeleted><isSpam>false</isSpam><author><name>N{pid}</name></author>'
            f'<thread dsq:id="{thread}"/>{par}</post>')


def test_orphans_and_cycles_are_problems_and_the_tree_stays_usable(tmp_path):
    p = _disqus(tmp_path, "\n".join([
        _post("1"), _post("2", parent="99"),  # parent not in the export
        _post("3", parent="4"), _post("4", parent="3"),  # a loop
        _post("5", thread="T-GONE"),  # a thread the export does not hold
        _post("6", thread=""),  # no thread at all
    ]))
    pages = threads.read(p)
    by_doc = {t.doc: t for t in pages}
    assert list(by_doc) == ["T1", "T-GONE", "d"]
    t1 = by_doc["T1"]
    kinds = [(pr.kind, pr.line) for pr in t1.problems]
    assert ("orphan", 5) in kinds and ("cycle", 6) in kinds  # the lines of posts 2 and 3
    assert t1["2"].parent_id == "" and t1["2"].depth == 0
    assert t1["3"].parent_id == "" and t1["4"].parent_id == "3" and t1["4"].depth == 1
    assert "reply links loop (3 -> 4 -> 3)" in next(pr.message for pr in t1.problems if pr.kind == "cycle")
    gone = by_doc["T-GONE"]
    assert gone.title == "" and gone.problems[0].kind == "orphan"
    assert "thread 'T-GONE', which is not in the export" in gone.problems[0].message
    assert "name no thread" in by_doc["d"].problems[0].message


def test_a_billion_laughs_file_is_refused_at_once_in_bounded_time_and_memory(tmp_path):
    laughs = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10)]
    p = tmp_path / "lol.xml"
    p.write_text('<?xml version="1.0"?>\n<!DOCTYPE disqus [\n' + "\n".join(laughs) + '\n]>\n'
                 '<disqus><post dsq:id="1"><message>&lol9;</message></post></disqus>\n', encoding="utf-8")
    quadratic = tmp_path / "blowup.xml"
    quadratic.write_text('<?xml version="1.0"?>\n<!DOCTYPE disqus [<!ENTITY a "' + "x" * 50_000 + '">]>\n'
                         '<disqus><post dsq:id="1"><message>' + "&a;" * 50_000 + "</message></post></disqus>\n",
                         encoding="utf-8")
    for bomb in (p, quadratic):
        tracemalloc.start()
        t0 = time.perf_counter()
        with pytest.raises(ParseError) as exc:
            threads.read(bomb)
        seconds = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert "declares an entity" in exc.value.message and "refused" in exc.value.message
        assert exc.value.message.startswith((f"{bomb}:2: ", f"{bomb}:3: "))
        assert seconds < 2 and peak < 20 * 2**20, (seconds, peak)


# --------------------------------------------------------------------------------------------
# WordPress WXR
# --------------------------------------------------------------------------------------------
def test_wordpress_pins_every_comment_and_skips_the_note_and_the_pingback():
    assert rows(FIX / "wordpress.xml") == [
        ("41", "101", "", 0, "Janet", "2025-11-10T09:05", "approved", ""),
        ("41", "102", "101", 1, "The Editor", "2025-11-10T10:20", "approved", ""),
        ("41", "104", "102", 2, "Tom R", "2025-11-10T13:47", "pending", ""),  # date_gmt 0000-00-00: comment_date
        ("41", "105", "", 0, "casino-bonus", "2025-11-11T02:13", "spam", ""),
        ("41", "107", "101", 1, "Angry Driver", "2025-11-11T08:30", "deleted", ""),  # trash
        ("57", "120", "", 0, "Priya", "2025-12-02T09:14", "approved", ""),
    ]
    pages = threads.read(FIX / "wordpress.xml")
    first = pages[0]
    assert first.title == "Bridge closure: what drivers need to know"
    assert first.article == ("The Mill Street bridge closes on 17 November for six weeks of repairs.\n\n"
                             "Detours are signposted via Oak Avenue.")
    assert pages[1].article == "From next week the market opens on Saturdays, 8am to 1pm.\n\nStall fees are unchanged."
    assert [(p.kind, p.line) for p in first.problems] == [("skipped", 42)]
    assert "skipped 1 note, 1 pingback: not reader comments" in first.problems[0].message
    t = texts(FIX / "wordpress.xml")
    assert t["101"] == ('Six weeks? Last time it was "two weeks" and took three months.\n'
                        "Hope they got it right this time.\n\nDoes the bus still run?")
    assert t["102"] == "Yes: the 12 bus is rerouted, see the timetable (https://transit.example.org/12)."
    assert t["120"] == "Saturdays work much better for families & kids."


def test_wordpress_keeps_pingbacks_and_notes_when_asked():
    pages = list(threads.iter_threads(FIX / "wordpress.xml", options={"keep_types": ("pingback", "note")}))
    ids = [c.id for c in pages[0].comments]
    assert ids == ["101", "102", "103", "104", "105", "106", "107"]
    assert pages[0]["103"].text == "[\u2026] the Gazette reports the bridge closes on the 17th [\u2026]"
    assert not pages[0].problems


def test_wordpress_ids_repeated_by_a_second_item_are_scoped_to_it(tmp_path):
    def item(pid: int, comments: str) -> str:
        return f"<item><title>P{pid}</title><wp:post_id>{pid}</wp:post_id>{comments}</item>"

    def comment(cid: int, parent: int = 0) -> str:
        return (f"<wp:comment><wp:comment_id>{cid}</wp:comment_id><wp:comment_author>a{cid}</wp:comment_author>"
                f"<wp:comment_date_gmt>2020-01-01 00:00:00</wp:comment_date_gmt><wp:comment_content>c{cid}"
                f"</wp:comment_content><wp:comment_approved>1</wp:comment_approved><wp:comment_type></wp:comment_type>"
                f"<wp:comment_parent>{parent}</wp:comment_parent></wp:comment>")

    p = tmp_path / "merged.xml"
    p.write_text('<?xml version="1.0"?>\n<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.1/"><channel>\n'
                 + item(1, comment(1) + comment(2, 1)) + "\n" + item(2, comment(1) + comment(2, 1))
                 + "\n</channel></rss>\n", encoding="utf-8")
    a, b = threads.read(p)
    assert [(c.id, c.parent_id) for c in a.comments] == [("1", ""), ("2", "1")]
    assert [(c.id, c.parent_id, c.depth) for c in b.comments] == [("2/1", "", 0), ("2/2", "2/1", 1)]
    assert b.problems[0].kind == "duplicate_id" and "read as 2/<comment_id>" in b.problems[0].message


# --------------------------------------------------------------------------------------------
# Coral
# --------------------------------------------------------------------------------------------
CORAL = [
    ("0b6c33a4-story-0001", "5f0c1a2e-0001-4c1d-9a51-2b6f3e8d0a01", "", 0, "user-3f9a", "2021-03-04T10:11", "approved", ""),
    ("0b6c33a4-story-0001", "5f0c1a2e-0002-4c1d-9a51-2b6f3e8d0a02", "5f0c1a2e-0001-4c1d-9a51-2b6f3e8d0a01", 1, "user-77c2",
     "2021-03-04T11:00", "approved", ""),
    ("0b6c33a4-story-0001", "5f0c1a2e-0003-4c1d-9a51-2b6f3e8d0a03", "5f0c1a2e-0002-4c1d-9a51-2b6f3e8d0a02", 2, "user-0bad",
     "2021-03-04T11:30", "rejected", "ABUSIVE"),
    ("0b6c33a4-story-0001", "5f0c1a2e-0004-4c1d-9a51-2b6f3e8d0a04", "", 0, "user-5e1d", "2021-03-04T12:45", "pending", ""),
    ("0b6c33a4-story-0002", "5f0c1a2e-0005-4c1d-9a51-2b6f3e8d0a05", "", 0, "user-9a9a", "2021-03-05T08:00", "rejected", "SPAM"),
    ("0b6c33a4-story-0002", "5f0c1a2e-0006-4c1d-9a51-2b6f3e8d0a06", "", 0, "user-3f9a", "2021-03-05T09:30", "deleted", ""),
    ("0b6c33a4-story-0002", "5f0c1a2e-0007-4c1d-9a51-2b6f3e8d0a07", "", 0, "user-41aa", "2021-03-05T10:10", "rejected",
     "HATE_SPEECH"),
]


def test_coral_folder_pins_every_comment_with_story_titles():
    assert rows(FIX / "coral") == CORAL
    pages = threads.read(FIX / "coral")
    assert [p.title for p in pages] == ["State budget deficit widens", "Town approves refugee housing plan"]
    assert pages[0].article == "The deficit grew for the third year in a row."
    t = texts(FIX / "coral")
    assert t["5f0c1a2e-0002-4c1d-9a51-2b6f3e8d0a02"] == "Worrying how? They match last year.\nRead it again."  # last revision
    assert t["5f0c1a2e-0001-4c1d-9a51-2b6f3e8d0a01"] == "Good reporting. The numbers on page two are worrying though."


def test_coral_comments_alone_have_no_titles_and_stories_alone_are_one_error(tmp_path):
    shutil.copy(FIX / "coral" / "comments.json", tmp_path / "comments.json")
    assert rows(tmp_path / "comments.json") == CORAL
    assert [p.title for p in threads.read(tmp_path / "comments.json")] == ["", ""]
    shutil.copy(FIX / "coral" / "stories.json", tmp_path / "stories.json")  # now beside its comments
    assert threads.read(tmp_path / "stories.json") == []
    assert threads.read(tmp_path / "comments.json")[0].title == "State budget deficit widens"
    alone = tmp_path / "only"
    alone.mkdir()
    shutil.copy(FIX / "coral" / "stories.json", alone / "stories.json")
    with pytest.raises(ParseError, match=r"stories\.json: holds Coral stories but no comments"):
        threads.read(alone / "stories.json")


# --------------------------------------------------------------------------------------------
# Reddit
# --------------------------------------------------------------------------------------------
def test_reddit_pins_every_comment_a_t3_parent_is_top_level():
    assert rows(FIX / "reddit.ndjson") == [
        ("t3_2xg4ab", "cp0b1", "", 0, "throwaway_econ", "2015-02-28T11:54", "", ""),  # created_utc as a string
        ("t3_2xg4ab", "cp0c7", "cp0b1", 1, "smallbiz_owner", "2015-02-28T12:05", "", ""),  # as a number
        ("t3_2xg4ab", "cp0d2", "cp0c7", 2, "[deleted]", "2015-02-28T12:10", "deleted", ""),
        ("t3_2xg4ab", "cp0e9", "", 0, "[deleted]", "2015-02-28T12:14", "rejected", ""),
        ("t3_2xg4ab", "cp0f3", "cp0c7", 2, "quiet_reader", "2015-02-28T12:20", "", ""),  # "1425126000.0"
    ]
    (page,) = threads.read(FIX / "reddit.ndjson")
    assert page.title == "City votes to raise minimum wage to $15"
    t = texts(FIX / "reddit.ndjson")
    assert t["cp0b1"] == ("Good. Nobody can live on the current one.\n\n"
                          "See the study (https://econ.example.edu/wage-study) for the numbers.")
    assert t["cp0c7"] == "Easy to say when you don't make payroll. I'll have to cut hours & staff."
    assert t["cp0f3"] == "> I'll have to cut hours\n\nOr raise prices by a few cents."


# --------------------------------------------------------------------------------------------
# Hacker News
# --------------------------------------------------------------------------------------------
def test_hackernews_pins_every_comment_under_its_story():
    assert rows(FIX / "hackernews.jsonl") == [
        ("31337001", "31337010", "", 0, "alice_dev", "2022-05-31T09:46", "approved", ""),
        ("31337001", "31337011", "31337010", 1, "pg_fan", "2022-05-31T09:55", "approved", ""),
        ("31337001", "31337012", "31337011", 2, "", "2022-05-31T09:56", "deleted", ""),
        ("31337001", "31337020", "", 0, "grumpy42", "2022-05-31T10:00", "rejected", ""),  # dead
        ("31337001", "31337021", "31337010", 1, "carol_b", "2022-05-31T10:13", "approved", ""),
    ]
    (page,) = threads.read(FIX / "hackernews.jsonl")
    assert page.title == "Show HN: A tiny static site generator in 200 lines"
    t = texts(FIX / "hackernews.jsonl")
    assert t["31337010"] == ("Neat. How does it handle <pre> blocks?\n\n"
                             "I tried https://example.dev/docs/markdown-code-blocks-and-highlighting and it worked.")
    assert t["31337011"] == "It passes them through untouched:\n\n  <pre>kept</pre>"


def test_hackernews_items_out_of_order_arrays_missing_stories_and_loops(tmp_path):
    items = [
        {"id": 3, "type": "comment", "by": "c", "parent": 2, "time": 1600000300, "text": "third"},
        {"id": 2, "type": "comment", "by": "b", "parent": 1, "time": 1600000200, "text": "second"},
        {"id": 1, "type": "story", "by": "s", "time": 1600000000, "title": "Story"},
        {"id": 7, "type": "comment", "by": "x", "parent": 999, "time": 1600000000, "text": "story not here"},
        {"id": 8, "type": "comment", "by": "y", "parent": 9, "time": 1600000000, "text": "loop"},
        {"id": 9, "type": "comment", "by": "z", "parent": 8, "time": 1600000000, "text": "loop"},
        {"id": 10, "type": "pollopt", "parent": 1, "time": 1600000000, "text": "an option"},
    ]
    p = tmp_path / "items.json"
    p.write_text(json.dumps(items, indent=2), encoding="utf-8")  # a pretty-printed JSON array
    pages = {t.doc: t for t in threads.read(p)}
    assert [(c.id, c.parent_id, c.depth) for c in pages["1"].comments] == [("3", "2", 1), ("2", "", 0)]
    assert pages["1"].title == "Story"
    assert [pr.kind for pr in pages["999"].problems] == ["orphan"]
    loop = next(t for d, t in pages.items() if d in ("8", "9"))
    assert [pr.kind for pr in loop.problems] == ["cycle"]
    assert "10" not in {c.id for t in pages.values() for c in t.comments}


# --------------------------------------------------------------------------------------------
# Discourse
# --------------------------------------------------------------------------------------------
def test_discourse_maps_reply_post_numbers_to_post_ids():
    assert rows(FIX / "discourse.json") == [
        ("4242", "9002", "", 0, "ann_reads", "2024-05-01T09:12", "approved", ""),
        ("4242", "9003", "9002", 1, "ben_t", "2024-05-01T09:40", "approved", ""),  # reply_to_post_number 2
        ("4242", "9004", "", 0, "troll_account", "2024-05-01T10:05", "rejected", "FLAG_THRESHOLD_REACHED"),
        ("4242", "9005", "9003", 2, "ann_reads", "2024-05-01T10:30", "deleted", ""),  # reply_to_post_number 3
        ("4242", "9007", "9003", 2, "cleo", "2024-05-01T11:00", "approved", ""),
    ]
    (page,) = threads.read(FIX / "discourse.json")
    assert page.title == "Library extends weekend hours"
    assert page.article == ("Comments on our story Library extends weekend hours "
                            "(https://news.example.com/2024/05/library-hours).")  # post number 1
    assert [p.kind for p in page.problems] == ["skipped"]  # the small-action post
    t = texts(FIX / "discourse.json")
    assert t["9003"] == "ann_reads:\n\n> Will the café stay open too?\n\nYes, until 6pm on Saturdays :smile:"
    assert t["9007"] == "Agree with Ben @ben_t, the café is the best part."
    assert all(c.line == 0 for c in page.comments)


def test_discourse_partial_topic_and_a_reply_to_a_post_not_in_the_file(tmp_path):
    topic = {"id": 5, "title": "T", "post_stream": {"stream": list(range(1, 31)), "posts": [
        {"id": 1, "post_number": 1, "cooked": "<p>story</p>", "username": "a"},
        {"id": 2, "post_number": 2, "reply_to_post_number": 25, "cooked": "<p>late reply</p>", "username": "b",
         "created_at": "2024-01-01T00:00:00Z"}]}}
    p = tmp_path / "5.json"
    p.write_text(json.dumps(topic), encoding="utf-8")
    (page,) = threads.read(p)
    assert page.comments[0].parent_id == "" and page.comments[0].depth == 0
    kinds = {pr.kind: pr.message for pr in page.problems}
    assert "replies to '#25'" in kinds["orphan"] and "post_stream.posts[1]" in kinds["orphan"]
    assert "the topic has 30 posts, the file holds 2" in kinds["truncated"]


# --------------------------------------------------------------------------------------------
# Common: HTML to text, timestamps, flat memory
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("html,text", [
    ("<p>One</p><p>Two &amp; <b>three</b></p>", "One\n\nTwo & three"),
    ("a<br>b<br><br>c", "a\nb\n\nc"),
    ('<p>See <a href="https://x.org/r">the report</a>.</p>', "See the report (https://x.org/r)."),
    ('<a href="https://x.org/">https://x.org/</a>', "https://x.org/"),
    ('<a href="/u/ann">@ann</a> and <a href="mailto:a@b.c">mail</a>', "@ann and mail"),
    ("<blockquote><p>quoted</p></blockquote><p>reply</p>", "> quoted\n\nreply"),
    ("<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
    ("<p>x<script>alert(1)</script><style>p{}</style></p>", "x"),
    ("  lots   of\n  space  ", "lots of space"),
    ("&lt;tag&gt; &#39;q&#39; &eacute;", "<tag> 'q' é"),
])
def test_html_bodies_become_text_with_paragraphs_breaks_entities_and_links(html, text):
    assert html_to_text(html) == text


_PIECES = ["<p>", "</p>", "<br>", "<br/>", "<br />", "<b>", "</b>", "<i>", "</i>", "<em>", "</strong>", "<span>", " ",
           "  ", "\n", "\t", "word", "Hello", "x.", "&amp;", "&#39;", "&eacute;", "&#10;", "&nbsp;", "\xa0", "&#32;",
           "&amp", "&", "<", "a<b", "<P>", "\u2028", "\x85", "<a href='https://x.y/'>", "</a>", "<blockquote>"]


@given(st.lists(st.sampled_from(_PIECES), max_size=16).map("".join))
@settings(max_examples=400, deadline=None)
def test_the_fast_path_for_plain_paragraphs_gives_what_the_html_parser_gives(body):
    from modkit.threads.formats import html as H

    parser = H._TextParser(False)
    parser.feed(body)
    assert html_to_text(body) == parser.text()


def test_wordpress_bodies_keep_their_typed_line_breaks_and_reddit_markdown_its_own():
    assert html_to_text("one\ntwo\n\nthree <i>four</i>", newlines=True) == "one\ntwo\n\nthree four"
    assert markdown_to_text("[a](https://a.b/c) &amp; [https://d.e](https://d.e)\n\nnext") == \
        "a (https://a.b/c) & https://d.e\n\nnext"


@pytest.mark.parametrize("raw,iso", [
    ("2013-06-06T08:33:00Z", "2013-06-06T08:33"),
    ("2013-06-06T10:33:00+02:00", "2013-06-06T08:33"),
    ("2013-06-06 08:33:00", "2013-06-06T08:33"),
    (1370507580, "2013-06-06T08:33"),
    ("1370507580", "2013-06-06T08:33"),
    ("1370507580.5", "2013-06-06T08:33"),
    ({"$date": "2013-06-06T08:33:00.000Z"}, "2013-06-06T08:33"),
    ({"$date": {"$numberLong": "1370507580000"}}, "2013-06-06T08:33"),
    ("", ""),
    ("soon", None),
])
def test_timestamps_are_iso_8601_utc_whatever_the_source_gave(raw, iso):
    assert _common.timestamp(raw) == iso


def test_the_generic_export_reads_unix_seconds_given_as_a_string(tmp_path):
    p = tmp_path / "cms.jsonl"
    p.write_text('{"id": "a", "parent_id": "", "timestamp": "1370507580", "status": "Spam"}\n', encoding="utf-8")
    (t,) = threads.read(p)
    assert t.comments[0].timestamp == "2013-06-06T08:33" and not t.problems
    assert t.comments[0].status == "spam"


@pytest.mark.parametrize("name,fmt,docs", FIXTURES, ids=[f[1] for f in FIXTURES])
def test_an_export_spilled_to_disk_reads_the_same(monkeypatch, name, fmt, docs):
    """Past SPILL_AFTER comments a reader groups them in a temporary SQLite file: same threads."""
    in_memory = list(threads.to_records(threads.read(FIX / name)))
    monkeypatch.setattr(_common, "SPILL_AFTER", 1)
    assert list(threads.to_records(threads.read(FIX / name))) == in_memory


def test_the_jsonl_output_of_an_export_reads_back_with_its_statuses(tmp_path):
    out = tmp_path / "all.jsonl"
    with open(out, "w", encoding="utf-8") as fh:
        from modkit.threads import render

        render.write_jsonl(threads.iter_threads(FIX / "coral"), fh)
    back = rows(out)
    assert [(r[1], r[2], r[6], r[7]) for r in back] == [(r[1], r[2], r[6], r[7]) for r in CORAL]


# --------------------------------------------------------------------------------------------
# Malformed files: one line naming the file and the line or element; the others go through
# --------------------------------------------------------------------------------------------
def _malformed(tmp_path: Path) -> Path:
    d = tmp_path / "exports"
    d.mkdir()
    data = (FIX / "disqus.xml").read_text(encoding="utf-8")
    (d / "a_truncated.xml").write_text(data[: data.index('<post dsq:id="2266000003">') + 60], encoding="utf-8")
    (d / "b_noid.xml").write_text(data.replace('<post dsq:id="2266000003">', "<post>"), encoding="utf-8")
    lines = (FIX / "reddit.ndjson").read_text(encoding="utf-8").splitlines()
    (d / "c_reddit.ndjson").write_text("\n".join(lines[:2] + ['["not", "an", "object"]'] + lines[2:]) + "\n",
                                       encoding="utf-8")
    shutil.copy(FIX / "hackernews.jsonl", d / "d_fine.jsonl")
    (d / "e_post_without_id.json").write_text(json.dumps(
        {"id": 1, "post_stream": {"posts": [{"id": 10, "post_number": 1, "cooked": "x"}, {"post_number": 2}]}}), encoding="utf-8")
    wxr = (FIX / "wordpress.xml").read_text(encoding="utf-8")
    (d / "f_wxr_truncated.xml").write_text(wxr[: wxr.index("<title><![CDATA[Farmers")], encoding="utf-8")
    (d / "g_coral.jsonl").write_text('{"id": "c1", "storyID": "s", "revisions": [{"body": "ok"}]}\n'
                                     '{"storyID": "s", "revisions": [{"body": "no id"}]}\n', encoding="utf-8")
    return d


def test_malformed_files_are_one_error_line_each_naming_the_file_and_line(tmp_path):
    d = _malformed(tmp_path)
    errors: list = []
    pages = list(threads.iter_threads(d, errors=errors))
    msgs = [e.message for e in errors]
    assert msgs[0].startswith(f"{d / 'a_truncated.xml'}:") and "not well-formed XML" in msgs[0] and "truncated" in msgs[0]
    assert msgs[1] == f"{d / 'b_noid.xml'}:74: <post> without a dsq:id: every comment needs an id"
    assert msgs[2] == f"{d / 'c_reddit.ndjson'}:3: expected a JSON object, got an array"
    assert msgs[3] == f"{d / 'e_post_without_id.json'}: post_stream.posts[1] (post number 2): no id: every post needs an id"
    assert msgs[4].startswith(f"{d / 'f_wxr_truncated.xml'}:") and "no element found" in msgs[4]
    assert msgs[5] == f"{d / 'g_coral.jsonl'}:2: comment without an id: every comment needs an id"
    assert len(msgs) == 6 and all("\n" not in m for m in msgs)
    # the good file, and the WordPress item read before the damage, still go through
    assert [(t.format, t.doc) for t in pages] == [("hackernews", "31337001"), ("wordpress", "41")]


def test_cli_threads_reports_each_bad_file_on_one_line_and_exits_1(modkit, tmp_path):
    d = _malformed(tmp_path)
    r = modkit("threads", str(d), "-f", "jsonl")
    assert r.returncode == 1
    errs = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errs) == 6 and "6 file(s) could not be read" in r.stderr
    docs = {json.loads(ln)["doc"] for ln in r.stdout.splitlines()}
    assert docs == {"31337001", "41"}


# --------------------------------------------------------------------------------------------
# The commands on every fixture
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,fmt,docs", FIXTURES, ids=[f[1] for f in FIXTURES])
def test_cli_threads_shows_the_tree_with_status_markers_and_jsonl_csv_fields(modkit, tmp_path, name, fmt, docs):
    src = str(FIX / name)
    tree = modkit("threads", src)
    assert tree.returncode == 0, tree.stderr
    for doc in docs:
        assert f"{doc}: " in tree.stdout
    expected = {c.id: c for t in threads.read(FIX / name) for c in t.comments}
    marks = {c.status for c in expected.values()} - {"", "approved"}
    for status in marks:
        assert f"[{status}" in tree.stdout
    jl = modkit("threads", src, "-f", "jsonl")
    recs = [json.loads(ln) for ln in jl.stdout.splitlines()]
    assert [(r["id"], r["status"], r["status_reason"]) for r in recs] == \
        [(c.id, c.status, c.status_reason) for c in expected.values()]
    out = tmp_path / "t.csv"
    cs = modkit("threads", src, "-f", "csv", "-o", str(out))
    assert cs.returncode == 0
    head = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert head[-2:] == ["status", "status_reason"]
    corpus = tmp_path / "corpus"
    assert modkit("threads", src, "-f", "convokit", "-o", str(corpus)).returncode == 0
    assert len((corpus / "utterances.jsonl").read_text(encoding="utf-8").splitlines()) == len(expected)


def test_cli_flag_skips_what_the_platform_removed_and_report_shows_the_decisions(modkit, tmp_path):
    sources = [str(FIX / name) for name, _, _ in FIXTURES]
    all_comments = [c for s in sources for t in threads.read(s) for c in t.comments]
    removed = [c for c in all_comments if c.status in ("spam", "deleted", "rejected")]
    out = tmp_path / "f.csv"
    r = modkit("flag", *sources, "--all", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert f"skipped {len(removed)} comment(s) the platform already removed" in r.stderr
    got = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"), newline="")))
    assert {g["comment_id"] for g in got} == {c.id for c in all_comments} - {c.id for c in removed}
    assert {g["doc"] for g in got} >= {d for _, _, docs in FIXTURES for d in docs} - {"0b6c33a4-story-0002"}
    r2 = modkit("flag", *sources, "--all", "--include-removed", "-o", str(out))
    assert r2.returncode == 0 and "skipped" not in r2.stderr
    assert len(list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"), newline="")))) == len(all_comments)
    html = tmp_path / "r.html"
    rep = modkit("report", *sources, "--flags", str(out), "--out", str(html))
    assert rep.returncode == 0, rep.stderr
    page = html.read_text(encoding="utf-8")
    for name, _, docs in FIXTURES:
        for doc in docs:
            assert f'data-doc="{doc}"' in page
    assert """class="badge status status-rejected" title="the platform's decision">rejected: ABUSIVE<""" in page
    assert page.count('class="badge status status-') == len(removed) + sum(c.status == "pending" for c in all_comments)


@pytest.mark.parametrize("name,fmt,docs", FIXTURES, ids=[f[1] for f in FIXTURES])
def test_cli_labels_import_from_status_turns_decisions_into_platform_labels(modkit, tmp_path, name, fmt, docs):
    labels = tmp_path / "labels"
    schema = L.load_schema(None)
    comments = [c for t in threads.read(FIX / name) for c in t.comments]
    want = {(c.id, t.name, t.from_status(c.status, c.status_reason)) for c in comments for t in schema.tasks
            if t.from_status(c.status, c.status_reason)}
    r = modkit("labels", "import", str(FIX / name), "--from-status", "--labels", str(labels))
    assert r.returncode == 0, r.stderr
    assert f"{len(comments)} comments" in r.stderr and f"imported {len(want)} labels" in r.stderr
    events = [json.loads(x) for x in (labels / "platform.jsonl").read_text(encoding="utf-8").splitlines()] if want else []
    assert {(e["comment_id"], e["task"], e["value"]) for e in events} == want
    assert all(e["source"] == "platform" and e["annotator"] == "platform" for e in events)
    again = modkit("labels", "import", str(FIX / name), "--from-status", "--labels", str(labels))
    assert f"imported 0 labels (none) as platform, {len(want)} already current" in again.stderr


def test_platform_mapping_says_spam_is_off_topic_and_coral_abuse_abusive_not_that_approved_is_civil(tmp_path):
    store = L.LabelStore(tmp_path / "labels")
    res = L.import_status_labels(threads.iter_threads(FIX / "coral"), store, L.load_schema(None))
    got = {(e.comment_id[-2:], e.task, e.value, e.note) for e in res.written}
    assert got == {
        ("03", "civility", "abusive", "platform: rejected:ABUSIVE"),
        ("05", "topic", "off", "platform: rejected:SPAM"),
        ("07", "civility", "abusive", "platform: rejected:HATE_SPEECH"),
    }
    disqus = L.import_status_labels(threads.iter_threads(FIX / "disqus.xml"), store, L.load_schema(None))
    assert {(e.comment_id, e.task, e.value) for e in disqus.written} == {("2266000004", "topic", "off")}
    # a comment the platform later approved loses its platform label (a retraction, not a rewrite)
    changed = tmp_path / "later.xml"
    changed.write_text((FIX / "disqus.xml").read_text(encoding="utf-8").replace(
        "<isSpam>true</isSpam>", "<isSpam>false</isSpam>"), encoding="utf-8")
    later = L.import_status_labels(threads.iter_threads(changed), store, L.load_schema(None))
    assert later.retracted == 1 and later.written[0].value is None
    assert ("2266000004", "topic", "platform") not in store.current()


def test_the_platform_mapping_is_checked_like_the_rest_of_the_schema():
    base = L.DEFAULT_SCHEMA_TOML
    with pytest.raises(SchemaError, match=r"tasks\.topic\.platform\.banned: unknown status 'banned'"):
        parse_schema(base.replace('platform = { spam = "off"', 'platform = { banned = "off"'), "s.toml")
    with pytest.raises(SchemaError, match=r"tasks\.topic\.platform\.spam: 'junk': expected one of the task's values on, off"):
        parse_schema(base.replace('platform = { spam = "off"', 'platform = { spam = "junk"'), "s.toml")
    s = parse_schema(base.replace('platform = { spam = "off"', 'platform = { approved = "on", spam = "off"'), "s.toml")
    assert s.task("topic").from_status("approved") == "on"  # only when the schema says so
    assert s.task("topic").from_status("rejected", "SPAM") == "off"
    assert s.task("topic").from_status("rejected", "OTHER") is None


def test_platform_labels_are_their_own_source_weighed_below_the_teams():
    from modkit.model import OWN_SOURCE, PLATFORM_SOURCE, balanced_weights

    y = pd.Series(["off"] * 6 + ["on"] * 6)
    src = pd.Series([OWN_SOURCE] * 2 + [PLATFORM_SOURCE] * 4 + [OWN_SOURCE] * 2 + ["corpus"] * 4)
    w = balanced_weights(y, src, platform_weight=0.5)
    own, plat = w[:2].sum(), w[2:6].sum()
    assert np.isclose(plat / own, 0.5)
    assert np.isclose(balanced_weights(y, src, platform_weight=1.0)[2:6].sum(), balanced_weights(y, src, platform_weight=1.0)[:2].sum())


def test_a_persons_label_beats_the_platforms_and_platform_only_labels_are_platform_examples(tmp_path):
    from modkit import data

    pages = threads.read(FIX / "coral")
    store = L.LabelStore(tmp_path)
    L.import_status_labels(pages, store, L.load_schema(None))
    c3, c5 = "5f0c1a2e-0003-4c1d-9a51-2b6f3e8d0a03", "5f0c1a2e-0005-4c1d-9a51-2b6f3e8d0a05"
    store.append([L.LabelEvent(c3, "0b6c33a4-story-0001", "civility", "uncivil", "ann", text_sha=L.text_sha(
        next(c.text for t in pages for c in t.comments if c.id == c3)))])
    df, by_source = data.seed_examples(tmp_path, pages, L.load_schema(None))
    got = {(r.comment_id, r.source, r.civility, r.topic) for r in df.itertuples()}
    assert (c3, "seed-labels", "uncivil", "") in got  # ann's label, not the platform's tie
    assert (c5, "platform-labels", "", "off") in got
    assert by_source == {"platform": 2, "manual": 1}  # the platform's label on c3 was overruled


def test_train_has_a_documented_platform_weight_option(modkit):
    r = modkit("train", "--help")
    assert "--platform-weight" in r.stdout
    assert "--platform-weight" in (ROOT / "README.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Memory stays flat in the size of the export (bench/formats_bench.py measures it at scale)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["disqus", "wordpress", "coral", "reddit", "hackernews", "discourse"])
def test_reading_a_generated_export_streams_in_flat_memory(tmp_path, fmt):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import formats_bench
    finally:
        sys.path.pop(0)
    peaks = {}
    for n in (4_000, 16_000):
        src = formats_bench.generate(fmt, n, tmp_path / f"{fmt}-{n}")
        code = textwrap.dedent(f"""
            import resource, sys
            from modkit.threads.formats import _common
            _common.SPILL_AFTER = 1000
            from modkit import threads
            n = sum(len(t.comments) for t in threads.iter_threads({str(src)!r}))
            print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        """)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        assert int(out[0]) == n
        peaks[n] = int(out[1])
    assert peaks[16_000] < peaks[4_000] * 1.25 + 8_000, peaks  # KB: four times the comments, about the same memory
