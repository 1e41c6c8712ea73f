"""Reading speed and memory of the platform export readers (Disqus, WordPress, Coral, Reddit,
Hacker News, Discourse) on generated exports of about a million comments.

    python bench/formats_bench.py                              # 1M comments per format
    python bench/formats_bench.py --sizes 100000               # quicker
    python bench/formats_bench.py --sizes 100000,1000000 --formats disqus,reddit

For each format and size an export is generated (in ``--dir``, default a temporary folder,
reused when already there), in the shape the real one has: Disqus and WXR XML with the e-mail
and IP fields, Coral's ``comments.json`` + ``stories.json``, a Reddit NDJSON dump with
submissions, Hacker News API items, one Discourse topic JSON per thread. Threads hold 20 to 200
comments with reply chains, HTML (or Markdown) bodies made of the seed pages' real comments,
and a mix of statuses; in the formats without grouping (Disqus, Coral, Reddit, Hacker News) the
comments of 64 threads at a time are interleaved, as an export in time order has them, so the
reader has to group them (in memory, then on disk past ``SPILL_AFTER``).

Each reading runs in a fresh process: ``modkit.threads.iter_threads(SOURCE)`` streaming thread
by thread, counting comments; it reports comments/s, MB/s, wall seconds and peak memory (max
RSS). Peak memory should be flat in the size of the export. Results are printed as a table and
written to ``bench/results/formats_bench.json``.
"""

from __future__ import annotations

import argparse
import html
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FORMATS = ("disqus", "wordpress", "coral", "reddit", "hackernews", "discourse")
T0 = 1_420_070_400  # 2015-01-01


def _bodies() -> list[str]:
    """Real comment texts (the seed pages'), the material of every generated body."""
    from modkit import threads

    texts = [c.text for t in threads.read(ROOT / "seeds") for c in t.comments if c.text.strip()]
    return texts or ["A comment."]


class _Gen:
    """Threads of comments, the same for every format: (thread, [(id, parent, author, time, text, status)])."""

    def __init__(self, n: int, seed: int = 0) -> None:
        self.n, self.rng, self.bodies = n, random.Random(seed), _bodies()

    def threads(self):
        made, t = 0, 0
        while made < self.n:
            size = min(self.rng.randint(20, 200), self.n - made)
            rows = []
            for i in range(size):
                cid = made + i + 1
                parent = 0 if i == 0 or self.rng.random() < 0.35 else made + 1 + self.rng.randrange(i)
                r = self.rng.random()
                status = "spam" if r < 0.02 else "deleted" if r < 0.04 else "rejected" if r < 0.07 else \
                    "pending" if r < 0.09 else "approved"
                rows.append((cid, parent, f"user{self.rng.randrange(50_000)}", T0 + cid * 7,
                             self.rng.choice(self.bodies), status))
            yield t, rows
            made += size
            t += 1

    def interleaved(self, width: int = 64):
        """The comments of ``width`` threads at a time, mixed: (thread, row) in time-like order."""
        batch = []
        for t, rows in self.threads():
            batch.append((t, rows))
            if len(batch) == width:
                yield from self._mix(batch)
                batch = []
        yield from self._mix(batch)

    def _mix(self, batch):
        cursors = [(t, iter(rows)) for t, rows in batch]
        while cursors:
            k = self.rng.randrange(len(cursors))
            t, it = cursors[k]
            row = next(it, None)
            if row is None:
                cursors.pop(k)
                continue
            yield t, row


def _html(text: str) -> str:
    return "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n"))


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def generate(fmt: str, n: int, out: Path, seed: int = 0) -> Path:
    """Write an export of about ``n`` comments in format ``fmt`` under ``out``; the SOURCE to read."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    done = out / ".done"
    g = _Gen(n, seed)
    source = {"disqus": out / "disqus.xml", "wordpress": out / "wordpress.xml", "coral": out,
              "reddit": out / "RC_dump.ndjson", "hackernews": out / "items.jsonl", "discourse": out}[fmt]
    if done.exists():
        return source
    if fmt == "disqus":
        with open(source, "w", encoding="utf-8") as fh:
            fh.write('<?xml version="1.0" encoding="utf-8"?>\n<disqus xmlns="http://disqus.com" '
                     'xmlns:dsq="http://disqus.com/disqus-internals">\n')
            for t in range(n // 20 + 1):
                fh.write(f'  <thread dsq:id="{t}">\n    <id />\n    <link>https://news.example.com/{t}/</link>\n'
                         f'    <title>Story {t}</title>\n    <message />\n    <createdAt>{_iso(T0)}</createdAt>\n'
                         '  </thread>\n')
            for t, (cid, parent, author, ts, text, status) in g.interleaved():
                par = f'    <parent dsq:id="{parent}" />\n' if parent else ""
                fh.write(f'  <post dsq:id="{cid}">\n    <id />\n    <message><![CDATA[{_html(text)}]]></message>\n'
                         f'    <createdAt>{_iso(ts)}</createdAt>\n'
                         f'    <isDeleted>{str(status == "deleted").lower()}</isDeleted>\n'
                         f'    <isSpam>{str(status == "spam").lower()}</isSpam>\n'
                         f'    <author>\n      <email>{author}@example.com</email>\n      <name>{author}</name>\n'
                         f'      <isAnonymous>false</isAnonymous>\n      <username>{author}</username>\n    </author>\n'
                         f'    <ipAddress>192.0.2.{cid % 250}</ipAddress>\n    <thread dsq:id="{t}" />\n{par}  </post>\n')
            fh.write("</disqus>\n")
    elif fmt == "wordpress":
        approved = {"approved": "1", "pending": "0", "spam": "spam", "deleted": "trash", "rejected": "trash"}
        with open(source, "w", encoding="utf-8") as fh:
            fh.write('<?xml version="1.0" encoding="UTF-8" ?>\n<rss version="2.0" '
                     'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:wp="http://wordpress.org/export/1.2/">\n'
                     "<channel>\n<title>Gazette</title>\n")
            for t, rows in g.threads():
                fh.write(f"<item>\n<title>Story {t}</title>\n<link>https://news.example.com/{t}/</link>\n"
                         f"<content:encoded><![CDATA[<p>{html.escape(rows[0][4][:200])}</p>]]></content:encoded>\n"
                         f"<wp:post_id>{t + 1}</wp:post_id>\n<wp:post_type>post</wp:post_type>\n")
                for cid, parent, author, ts, text, status in rows:
                    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))
                    fh.write(f"<wp:comment>\n<wp:comment_id>{cid}</wp:comment_id>\n"
                             f"<wp:comment_author><![CDATA[{author}]]></wp:comment_author>\n"
                             f"<wp:comment_author_email><![CDATA[{author}@example.com]]></wp:comment_author_email>\n"
                             f"<wp:comment_author_IP><![CDATA[192.0.2.{cid % 250}]]></wp:comment_author_IP>\n"
                             f"<wp:comment_date>{when}</wp:comment_date>\n<wp:comment_date_gmt>{when}</wp:comment_date_gmt>\n"
                             f"<wp:comment_content><![CDATA[{text}]]></wp:comment_content>\n"
                             f"<wp:comment_approved>{approved[status]}</wp:comment_approved>\n"
                             f"<wp:comment_type>comment</wp:comment_type>\n<wp:comment_parent>{parent}</wp:comment_parent>\n"
                             "</wp:comment>\n")
                fh.write("</item>\n")
            fh.write("</channel>\n</rss>\n")
    elif fmt == "coral":
        coral = {"approved": "APPROVED", "pending": "PREMOD", "spam": "REJECTED", "deleted": "APPROVED",
                 "rejected": "REJECTED"}
        with open(out / "comments.json", "w", encoding="utf-8") as fh:
            for t, (cid, parent, author, ts, text, status) in g.interleaved():
                rec = {"id": f"c{cid}", "tenantID": "tenant", "storyID": f"s{t}", "authorID": author,
                       "parentID": f"c{parent}" if parent else None, "status": coral[status],
                       "revisions": [{"id": f"r{cid}", "body": _html(text), "createdAt": {"$date": _iso(ts)}}],
                       "createdAt": {"$date": _iso(ts)}, "actionCounts": {}, "tags": []}
                if status == "deleted":
                    rec["deletedAt"] = {"$date": _iso(ts + 60)}
                if coral[status] == "REJECTED":
                    rec["rejectionReason"] = {"code": "SPAM" if status == "spam" else "ABUSIVE"}
                fh.write(json.dumps(rec) + "\n")
        with open(out / "stories.json", "w", encoding="utf-8") as fh:
            for t in range(n // 20 + 1):
                fh.write(json.dumps({"id": f"s{t}", "tenantID": "tenant", "url": f"https://news.example.com/{t}/",
                                     "metadata": {"title": f"Story {t}"}}) + "\n")
    elif fmt == "reddit":
        with open(source, "w", encoding="utf-8") as fh:
            seen: set[int] = set()
            for t, (cid, parent, author, ts, text, status) in g.interleaved():
                if t not in seen:
                    seen.add(t)
                    fh.write(json.dumps({"id": f"s{t}", "name": f"t3_s{t}", "title": f"Story {t}", "subreddit": "news",
                                         "selftext": "", "created_utc": ts, "author": "poster"}) + "\n")
                body = "[removed]" if status in ("spam", "rejected") else "[deleted]" if status == "deleted" else \
                    html.escape(text, quote=False)
                fh.write(json.dumps({"author": author, "body": body, "created_utc": str(ts), "id": f"k{cid}",
                                     "link_id": f"t3_s{t}", "parent_id": f"t1_k{parent}" if parent else f"t3_s{t}",
                                     "score": 1, "subreddit": "news", "controversiality": 0}) + "\n")
    elif fmt == "hackernews":
        with open(source, "w", encoding="utf-8") as fh:
            seen = set()
            for t, (cid, parent, author, ts, text, status) in g.interleaved():
                story = 10_000_000 + t
                if t not in seen:
                    seen.add(t)
                    fh.write(json.dumps({"id": story, "type": "story", "by": "poster", "time": ts,
                                         "title": f"Story {t}", "url": f"https://example.com/{t}"}) + "\n")
                rec = {"id": cid, "type": "comment", "by": author, "parent": parent or story, "time": ts,
                       "text": "<p>".join(html.escape(p) for p in text.split("\n\n"))}
                if status == "deleted":
                    rec = {"id": cid, "type": "comment", "deleted": True, "parent": parent or story, "time": ts}
                elif status in ("spam", "rejected"):
                    rec["dead"] = True
                fh.write(json.dumps(rec) + "\n")
    elif fmt == "discourse":
        for t, rows in g.threads():
            number = {cid: k + 2 for k, (cid, *_rest) in enumerate(rows)}
            posts = [{"id": 10 * n + 1 + t, "post_number": 1, "username": "newsroom", "cooked": f"<p>Story {t}</p>",
                      "created_at": _iso(T0), "post_type": 1}]
            for cid, parent, author, ts, text, status in rows:
                posts.append({"id": cid, "post_number": number[cid], "username": author, "created_at": _iso(ts),
                              "cooked": _html(text), "post_type": 1,
                              "reply_to_post_number": number.get(parent), "hidden": status in ("spam", "rejected"),
                              "deleted_at": _iso(ts + 60) if status == "deleted" else None, "user_deleted": False})
            topic = {"id": t, "title": f"Story {t}", "posts_count": len(posts),
                     "post_stream": {"posts": posts, "stream": [p["id"] for p in posts]}}
            (out / f"t{t:06d}.json").write_text(json.dumps(topic), encoding="utf-8")
    else:
        raise SystemExit(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    done.touch()
    return source


def _size(source: Path) -> int:
    return sum(p.stat().st_size for p in source.iterdir() if p.is_file()) if source.is_dir() else source.stat().st_size


_READER = """
import resource, sys, time
from modkit import threads
t0 = time.perf_counter(); c0 = time.process_time()  # the reading only, not Python's start and imports
n = pages = 0
for t in threads.iter_threads(sys.argv[1]):
    n += len(t.comments); pages += 1
print(n, pages, time.perf_counter() - t0, time.process_time() - c0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def measure(source: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _READER, str(source)], capture_output=True, text=True, check=True)
    n, pages, wall, cpu, rss = out.stdout.split()
    size = _size(source)
    return {"comments": int(n), "threads": int(pages), "seconds": round(float(wall), 2), "cpu_seconds": round(float(cpu), 2),
            "comments_per_s": round(int(n) / float(wall)), "mb": round(size / 1e6, 1),
            "mb_per_s": round(size / 1e6 / float(wall), 1), "peak_rss_mb": round(int(rss) / 1024, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000000", help="comma-separated comment counts (default 1000000)")
    ap.add_argument("--formats", default=",".join(FORMATS), help=f"comma-separated, from {', '.join(FORMATS)}")
    ap.add_argument("--dir", type=Path, default=None, help="where the generated exports go (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the generated exports")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "formats_bench.json")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    fmts = [f.strip() for f in args.formats.split(",") if f.strip()]
    base = args.dir or Path(tempfile.mkdtemp(prefix="modkit-formats-bench-"))
    results = []
    print(f"{'format':<11} {'comments':>9} {'threads':>7} {'MB':>7} {'seconds':>8} {'comments/s':>10} {'MB/s':>6} {'peak MB':>8}")
    for fmt in fmts:
        for n in sizes:
            t0 = time.perf_counter()
            src = generate(fmt, n, base / f"{fmt}-{n}")
            gen = time.perf_counter() - t0
            r = {"format": fmt, "size": n, "generate_seconds": round(gen, 1), **measure(src)}
            results.append(r)
            print(f"{fmt:<11} {r['comments']:>9,} {r['threads']:>7,} {r['mb']:>7.1f} {r['seconds']:>8.1f} "
                  f"{r['comments_per_s']:>10,} {r['mb_per_s']:>6.1f} {r['peak_rss_mb']:>8.1f}", flush=True)
            if not args.keep and args.dir is None:
                import shutil

                shutil.rmtree(base / f"{fmt}-{n}", ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"python": sys.version.split()[0], "cpus": __import__("os").cpu_count(),
            "note": "each reading in a fresh process: modkit.threads.iter_threads(SOURCE), streamed; peak = max RSS"}
    args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
