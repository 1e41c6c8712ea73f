"""Comment bodies as plain text: HTML (Disqus, WordPress, Coral, Hacker News, Discourse) and
Reddit's Markdown.

What the readers want from a body is what a moderator reads on the page, as modkit's text
convention has it (single line breaks kept, paragraphs separated by one blank line):

- block elements (``p``, ``div``, ``blockquote``, lists, headings, ``pre``...) are paragraphs;
  ``br`` is a line break, two in a row a paragraph break; list items are ``- `` lines;
- a quoted block (``blockquote``) keeps ``> `` in front of its lines, so a quote of an
  insult stays recognisable as a quote;
- a link is its text followed by its address in brackets, ``the report (https://...)``,
  unless the text already is the address (or the address cut short with ``...``); relative
  links (``/u/alice`` mentions) and ``mailto:`` addresses are left out;
- an image is its ``alt`` text (Discourse's emoji are ``:smile:``), else nothing;
- entities are decoded, ``script``/``style`` dropped, runs of white space one space
  (``pre`` keeps its own).

WordPress stores comments as typed (``wpautop`` adds the ``<p>`` on display): with
``newlines=True`` a line break in the source is a line break and an empty line a paragraph
break, as WordPress shows them. Only the standard library's :mod:`html.parser` is used: it never
fetches anything and accepts any tag soup.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

__all__ = ["html_to_text", "markdown_to_text"]

_BLOCK = frozenset({
    "p", "div", "blockquote", "ul", "ol", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table",
    "aside", "section", "article", "header", "footer", "figure", "figcaption", "hr", "details",
    "summary", "form", "fieldset", "address", "center", "main", "nav",
})
_LINE = frozenset({"li", "tr", "dt", "dd", "caption"})
_DROP = frozenset({"script", "style", "template", "noscript", "head", "title"})
_SPACE = re.compile(r"[ \t\r\n\f\v]+")
_NEWLINES = re.compile(r"\r\n|\r|\n")
_BLANKS = re.compile(r"\n{3,}")
_NEEDS_SPACE = re.compile(r"[\t\r\n\f\v]|  ")


def _collapse(text: str) -> str:
    """Runs of HTML white space as one space (a search first: most text has none to collapse)."""
    return _SPACE.sub(" ", text) if _NEEDS_SPACE.search(text) else text


def _no_blank_runs(text: str) -> str:
    return _BLANKS.sub("\n\n", text) if "\n\n\n" in text else text


class _TextParser(HTMLParser):
    def __init__(self, newlines: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.newlines = newlines
        self.out: list[str] = []
        self.brk = 0  # pending break before the next text: 0 none, 1 line, 2 paragraph
        self.space = False  # pending space before the next text
        self.drop = 0
        self.pre = 0
        self.quote = 0
        self.at_line_start = True
        self.links: list[tuple[str, int]] = []  # (href, index in out where the link text starts)

    # -- output -------------------------------------------------------------------------------
    def _break(self, n: int) -> None:
        self.brk = max(self.brk, n)
        self.space = False

    def _emit(self, text: str) -> None:
        if not text:
            return
        if self.out and self.brk:
            self.out.append("\n" * self.brk)
            self.at_line_start = True
        elif self.space and self.out and not self.at_line_start:
            self.out.append(" ")
        self.brk = 0
        self.space = False
        if self.at_line_start and self.quote:
            self.out.append("> " * self.quote)
        self.out.append(text)
        self.at_line_start = False

    def _flow(self, data: str) -> None:
        """Text outside ``pre``: white space runs are one space."""
        if not data:
            return
        body = _collapse(data)
        if body.startswith(" "):
            self.space = True
        body = body.strip(" ")
        if body:
            self._emit(body)
            if data[-1:].isspace():
                self.space = True

    # -- HTMLParser callbacks -------------------------------------------------------------------
    def handle_data(self, data: str) -> None:
        if self.drop:
            return
        if self.pre:  # kept as written, each source line a line
            for i, line in enumerate(_NEWLINES.split(data)):
                if i:
                    if self.out and not self.brk:
                        self.out.append("\n")
                        self.at_line_start = True
                    elif self.brk:
                        self.brk = max(self.brk, 1)
                if line.strip():
                    self.space = False
                    self._emit(line.rstrip())
            return
        if self.newlines:
            for i, para in enumerate(re.split(r"(?:\r\n|\r|\n)[ \t]*(?:\r\n|\r|\n)\s*", data)):
                if i:
                    self._break(2)
                for j, line in enumerate(_NEWLINES.split(para)):
                    if j:
                        self._break(1)
                    self._flow(line)
            return
        self._flow(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP:
            self.drop += 1
            return
        if self.drop:
            return
        if tag == "br":
            self.brk = min(2, self.brk + 1)
            self.space = False
        elif tag in _BLOCK:
            self._break(2)
            if tag == "blockquote":
                self.quote += 1
            elif tag == "pre":
                self.pre += 1
        elif tag in _LINE:
            self._break(1)
            if tag == "li":
                self._emit("-")
                self.space = True
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self.links.append((href.strip(), len(self.out)))
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self._emit(alt)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":  # <a href=".."/>: no text, the address alone
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)
        else:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP:
            self.drop = max(0, self.drop - 1)
            return
        if self.drop:
            return
        if tag in _BLOCK:
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            elif tag == "pre":
                self.pre = max(0, self.pre - 1)
            self._break(2)
        elif tag in _LINE:
            self._break(1)
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            if not href.lower().startswith(("http://", "https://")):
                return
            shown = "".join(self.out[start:]).strip()
            if _same_address(shown, href):
                if shown.endswith(("...", "\u2026")):  # Hacker News shortens long addresses: show it whole
                    for i in range(len(self.out) - 1, start - 1, -1):
                        if self.out[i].strip() == shown:
                            self.out[i] = self.out[i].replace(shown, href)
                            break
                return
            if not shown:
                self._emit(href)
            else:
                self.space = True
                self._emit(f"({href})")

    def text(self) -> str:
        self.close()
        joined = "".join(self.out)
        lines = [line.rstrip() for line in joined.split("\n")]
        return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def _same_address(shown: str, href: str) -> bool:
    if not shown:
        return False
    bare = re.sub(r"^https?://", "", href).rstrip("/")
    s = re.sub(r"^https?://", "", shown).rstrip("/")
    if s == bare:
        return True
    for ellipsis in ("...", "\u2026"):
        if s.endswith(ellipsis) and bare.startswith(s[: -len(ellipsis)]):
            return True
    return False


def html_to_text(body: str | None, newlines: bool = False) -> str:
    """Plain text of an HTML comment body (see the module doc). ``newlines=True``: line breaks
    in the source are line breaks (WordPress comments, stored as typed)."""
    if not body:
        return ""
    if "<" not in body and "&" not in body:  # plain text: only the white space rules apply
        if newlines:
            text = body.replace("\r\n", "\n").replace("\r", "\n")
            lines = [_collapse(line).strip(" ").rstrip() for line in text.split("\n")]
            return _no_blank_runs("\n".join(lines)).strip()
        return _collapse(body).strip()
    if not newlines and _is_simple(body):
        return _simple(body)
    parser = _TextParser(newlines)
    parser.feed(body)
    return parser.text()


# Most comment bodies are paragraphs, line breaks and inline emphasis: that case is done with
# regular expressions (the parser above takes a few times longer); the result is the same
# (tests/test_formats.py checks it on generated bodies).
_TAG = re.compile(r"<[^>]*>")
_SIMPLE_TAGS = frozenset({"<p>", "</p>", "<br>", "<br/>", "<br />", "<b>", "</b>", "<i>", "</i>", "<em>", "</em>",
                          "<strong>", "</strong>", "<u>", "</u>", "<span>", "</span>"})
_SIMPLE_TAG = re.compile(r"</?p>|<br ?/?>|<[^>]*>")


def _is_simple(body: str) -> bool:
    tags = _TAG.findall(body)
    return body.count("<") == len(tags) and body.count(">") == len(tags) and all(t in _SIMPLE_TAGS for t in tags)


def _simple(body: str) -> str:
    out: list[str] = []
    brk = 0  # as in _TextParser: the pending break (1 line, 2 paragraph; -1 a space)
    pos = 0
    for m in _SIMPLE_TAG.finditer(body):
        if m.start() > pos:
            brk = _simple_text(out, body[pos:m.start()], brk)
        tag = m.group()
        if tag.startswith("<br"):
            brk = min(2, brk + 1) if brk >= 0 else 1
        elif tag in ("<p>", "</p>"):
            brk = 2
        pos = m.end()
    if pos < len(body):
        _simple_text(out, body[pos:], brk)
    joined = "".join(out)
    if "\n" in joined:
        joined = "\n".join(line.rstrip() for line in joined.split("\n"))
    return _no_blank_runs(joined).strip()


def _simple_text(out: list[str], raw: str, brk: int) -> int:
    """Append the text ``raw`` after the pending break ``brk``, as _TextParser._flow does."""
    data = html.unescape(raw) if "&" in raw else raw
    body = _collapse(data)
    space = brk < 0 or body.startswith(" ")
    body = body.strip(" ")
    if not body:
        return brk if brk > 0 else (-1 if space else 0)
    if out:
        if brk > 0:
            out.append("\n" * brk)
        elif space:
            out.append(" ")
    out.append(body)
    return -1 if data[-1:].isspace() else 0


_MD_LINK = re.compile(r"\[([^\]\n]*)\]\(\s*(https?://[^)\s]+)\s*\)")


def markdown_to_text(body: str | None) -> str:
    """Reddit's Markdown as text: entities decoded (the dumps escape ``&``, ``<``, ``>``),
    ``[text](url)`` as ``text (url)``; line breaks and paragraphs as written."""
    if not body:
        return ""
    text = html.unescape(body).replace("\r\n", "\n").replace("\r", "\n")
    text = _MD_LINK.sub(lambda m: m.group(2) if _same_address(m.group(1), m.group(2)) or not m.group(1).strip()
                        else f"{m.group(1)} ({m.group(2)})", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()
