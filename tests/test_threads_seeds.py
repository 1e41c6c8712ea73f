"""The reconstructor on the real seeds: every parent link and depth of 000, 001 and 003."""

from __future__ import annotations

import pytest

from modkit import threads


def shape(t):
    """(position, author, parent position or 0, depth) for every comment, in page order."""
    pos = {c.id: c.position for c in t.comments}
    return [(c.position, c.author, pos.get(c.parent_id, 0), c.depth) for c in t.comments]


def test_seed_000_tree(seeds):
    (t,) = threads.read(seeds / "000")
    assert (t.declared, t.found) == (6, 6)
    assert shape(t) == [
        (1, "connor", 0, 0), (2, "sRA", 1, 1), (3, "Roses", 0, 0), (4, "Roma", 3, 1),
        (5, "Chato's land", 4, 2), (6, "sjdsh", 0, 0),
    ]
    assert t.comments[1].text == ""  # sRA's reply has an empty body
    assert "\U0001f642" in t.comments[4].text  # emoji survive
    assert not t.count_mismatch and t.max_depth == 2
    assert t.title == "What Russia wants from Obama"


def test_seed_001_tree(seeds):
    (t,) = threads.read(seeds / "001")
    assert (t.declared, t.found) == (25, 24)
    assert shape(t) == [
        (1, "Jerry", 0, 0), (2, "YoungNiceGuy", 1, 1), (3, "ROBERT DUNMEYER", 2, 2),
        (4, "Babeouf", 0, 0), (5, "YoungNiceGuy", 4, 1), (6, "YaValioCacaWates", 0, 0),
        (7, "Den", 0, 0), (8, "Joseph McCarthy", 7, 1), (9, "raydar07", 0, 0), (10, "mirage0777", 9, 1),
        (11, "Jack", 0, 0), (12, "Andrey", 0, 0), (13, "giggig", 0, 0), (14, "Andrey", 13, 1),
        (15, "giggig", 0, 0), (16, "Marine5484", 15, 1), (17, "j. von hettlingen", 0, 0),
        (18, "j. von hettlingen", 17, 1), (19, "j. von hettlingen", 18, 2), (20, "j. von hettlingen", 18, 2),
        (21, "Andrey", 18, 2), (22, "Andrey", 18, 2), (23, "cnnlies", 0, 0), (24, "rightospeak", 0, 0),
    ]
    # The self-reply and the near-duplicate repost are both kept as they are.
    assert t.comments[17].author == t.parent(t.comments[17]).author
    assert t.comments[12].text != t.comments[14].text
    assert t.comments[12].text[:60] == t.comments[14].text[:60]
    assert [p.kind for p in t.problems] == ["count_mismatch"]


def test_seed_003_tree(seeds):
    (t,) = threads.read(seeds / "003")
    assert (t.declared, t.found) == (11, 8)
    assert shape(t) == [
        (1, "Joseph McCarthy", 0, 0), (2, "Amit-Atlanta-USA", 1, 1), (3, "James Chen", 0, 0),
        (4, "Andrey", 0, 0), (5, "j. von hettlingen", 0, 0), (6, "Hate Wins", 0, 0),
        (7, "observer", 6, 1), (8, "Dmitriy", 0, 0),
    ]
    assert t.comments[0].timestamp == "2012-12-14T19:46"
    assert t.comments[3].text.endswith("much ado about nothing!")


@pytest.mark.parametrize("prefix", ["002", "004"])
def test_pages_without_comment_section(seeds, prefix):
    (t,) = threads.read(seeds / prefix)
    assert not t.has_comment_section and t.found == 0 and t.declared is None
    assert [p.kind for p in t.problems] == ["no_comment_section"]


def test_004_article_has_no_site_navigation(seeds):
    (t,) = threads.read(seeds / "004")
    assert "Skip to" not in t.article
    assert t.title.startswith("Russia not Obama's 'No. 1 foe,'")
    assert "Many Russians appeared satisfied" in t.article


def test_cli_threads_seeds_shows_counts_and_two_warnings(modkit):
    r = modkit("threads", "seeds/")
    assert r.returncode == 0, r.stderr
    assert "found 24 comments, page declares 25" in r.stderr
    assert "found 8 comments, page declares 11" in r.stderr
    assert r.stderr.count("warning:") == 2
    assert "6/6 comments" in r.stdout and "24/25" in r.stdout and "8/11" in r.stdout


def test_cli_threads_004_says_no_comment_section_and_exits_0(modkit):
    r = modkit("threads", "seeds/004")
    assert r.returncode == 0
    assert r.stdout.strip() == "004_3f8cf5af770a9c2b: no comment section"
    assert "warning" not in r.stderr and "error" not in r.stderr


@pytest.mark.parametrize("arg,needle", [("seeds/00", "ambiguous prefix"), ("seeds/009", "no such file")])
def test_cli_bad_prefix_exits_2_with_one_line(modkit, arg, needle):
    r = modkit("threads", arg)
    assert r.returncode == 2
    assert needle in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
