"""Stable comment ids: labels point at them, so they must survive re-parsing and re-scrapes."""

from __future__ import annotations

import hashlib

from modkit import threads
from modkit.threads import PageComment, comment_id, parse_page, render_page


def ids(t):
    return [c.id for c in t.comments]


def seed_text(seeds, prefix):
    (path,) = seeds.glob(prefix + "*")
    return path, path.read_text(encoding="utf-8")


def test_the_documented_rule_pinned():
    doc, author, ts, text = "000_0ea86afeb990cb41", "connor", "2012-11-08T14:02", "thank you this was help full for my russia project"
    payload = "\x1f".join((doc, author, ts, text)).encode("utf-8")  # noqa: FLY002  (the rule as documented)
    expected = "c" + hashlib.blake2b(payload, digest_size=6).hexdigest()
    assert comment_id(doc, author, ts, text) == expected == "cd6e10b388724"
    assert comment_id(doc, author, ts, text, repeat=2) == expected + "-2"


def test_seed_000_ids_pinned(seeds):
    (t,) = threads.read(seeds / "000")
    assert ids(t) == ["cd6e10b388724", "c2a04e9409aeb", "ce82943f18113", "cbda17093717c", "cc656e3aec858", "c87b8be6d1660"]


def test_reparsing_gives_the_same_ids(seeds):
    first = {t.doc: ids(t) for t in threads.read(seeds)}
    second = {t.doc: ids(t) for t in threads.read(seeds)}
    assert first == second and sum(map(len, first.values())) == 38
    assert len({i for v in first.values() for i in v}) == 38  # unique across the corpus


def test_ids_do_not_depend_on_the_folder_only_on_the_page_name(tmp_path, seeds):
    path, text = seed_text(seeds, "003")
    (tmp_path / path.name).write_text(text, encoding="utf-8")
    assert ids(threads.read_thread(tmp_path / path.name)) == ids(threads.read_thread(path))


def test_crlf_and_trailing_space_resave_keeps_ids(tmp_path, seeds):
    path, text = seed_text(seeds, "001")
    resaved = "\r\n".join(line + "  " for line in text.split("\n"))
    (tmp_path / path.name).write_bytes(resaved.encode("utf-8"))
    assert ids(threads.read_thread(tmp_path / path.name)) == ids(threads.read_thread(path))


def _insert_after(text: str, anchor: str, block: str) -> str:
    assert text.count(anchor) == 1, anchor
    return text.replace(anchor, anchor + block)


def test_rescrape_with_more_comments_keeps_every_old_id(tmp_path, seeds):
    path, text = seed_text(seeds, "001")
    old = threads.read_thread(path)
    new_text = text.replace("soundoff (25 Responses)", "soundoff (29 Responses)")
    # a new reply in the middle of Den's thread, nested under Joseph McCarthy's reply
    new_text = _insert_after(
        new_text, "      June 6, 2013 at 7:39 pm |\n",
        "      \u2022 latecomer\n\n        I agree with both of you.\n\n        June 9, 2013 at 1:00 pm |\n",
    )
    # a new reply to Jerry, placed before the existing one
    new_text = _insert_after(
        new_text, "    June 6, 2013 at 8:33 am |\n",
        "    \u2022 first_reply\n\n      Reply added later.\n\n      June 9, 2013 at 2:00 pm |\n",
    )
    # a new top-level comment at the end (numbers on the page shift, ids must not)
    new_text = _insert_after(
        new_text, "    June 9, 2013 at 11:13 am |\n",
        "  13. newcomer\n\n    Late to the party.\n\n    June 10, 2013 at 9:00 am |\n",
    )
    (tmp_path / path.name).write_text(new_text, encoding="utf-8")
    new = threads.read_thread(tmp_path / path.name)
    assert new.found == old.found + 3
    old_by_id = {c.id: c for c in old.comments}
    kept = [c for c in new.comments if c.id in old_by_id]
    assert len(kept) == old.found  # every old id is still there...
    for c in kept:  # ...on the same comment, with the same parent
        o = old_by_id[c.id]
        assert (c.author, c.timestamp, c.text, c.parent_id, c.depth) == (o.author, o.timestamp, o.text, o.parent_id, o.depth)
    added = {c.author: c for c in new.comments if c.id not in old_by_id}
    assert set(added) == {"latecomer", "first_reply", "newcomer"}
    assert new[added["latecomer"].parent_id].author == "Joseph McCarthy"
    assert new[added["first_reply"].parent_id].author == "Jerry"


def test_exact_repeats_get_numbered_suffixes_in_page_order(tmp_path):
    same = PageComment("spam bot", "2013-06-06T08:33", "Buy now!")
    page = render_page([same, PageComment("ann", "2013-06-06T08:34", "no"), same, same._replace(depth=1)])
    t = parse_page(page.encode(), tmp_path / "p.txt")
    base = comment_id("p", "spam bot", "2013-06-06T08:33", "Buy now!")
    assert ids(t) == [base, comment_id("p", "ann", "2013-06-06T08:34", "no"), base + "-2", base + "-3"]
    assert t.comments[3].parent_id == base + "-2"


def test_a_near_duplicate_is_not_a_repeat(seeds):
    (t,) = threads.read(seeds / "001")
    a, b = t.comments[12], t.comments[14]  # giggig's two posts, five minutes apart
    assert a.author == b.author and a.id != b.id and "-" not in a.id + b.id


def test_rescrape_with_a_repeat_added_after_the_original_keeps_the_original_id(tmp_path):
    c1 = PageComment("ann", "2013-06-06T08:33", "Me too.")
    before = parse_page(render_page([c1]).encode(), tmp_path / "p.txt")
    after = parse_page(render_page([c1, PageComment("bob", "2013-06-06T08:40", "hm"), c1]).encode(), tmp_path / "p.txt")
    assert ids(after)[0] == ids(before)[0] and ids(after)[2] == ids(before)[0] + "-2"
