"""Readers for the exports of real comment systems, one module each, registered in the format
registry (:mod:`modkit.threads.registry`) so every command reads them as it reads pages:

=============  ==========================  ============================================
format         file                        module
=============  ==========================  ============================================
``disqus``     ``.xml`` (``<disqus>``)     :mod:`~modkit.threads.formats.disqus`
``wordpress``  ``.xml`` (WXR ``<rss>``)    :mod:`~modkit.threads.formats.wordpress`
``coral``      ``.json``/``.jsonl``        :mod:`~modkit.threads.formats.coral`
``reddit``     ``.json``/``.jsonl``        :mod:`~modkit.threads.formats.reddit`
``hackernews`` ``.json``/``.jsonl``        :mod:`~modkit.threads.formats.hackernews`
``discourse``  ``.json`` (one topic)       :mod:`~modkit.threads.formats.discourse`
=============  ==========================  ============================================

Two formats end in ``.xml`` and several in ``.json``: the registry tells them apart by the
file's first bytes (each module's ``sniff``); a ``.json``/``.jsonl``/``.ndjson`` file none of
them claims is read as modkit's own JSONL export (``id``/``parent_id``). Every reader gives
each comment the platform's moderation decision (``Comment.status``, ``status_reason``), never
reads e-mail or IP address fields, and turns HTML bodies into text
(:func:`~modkit.threads.formats.html.html_to_text`).
"""

from __future__ import annotations

from modkit.threads.formats import coral, discourse, disqus, hackernews, reddit, wordpress
from modkit.threads.formats.html import html_to_text, markdown_to_text
from modkit.threads.registry import formats as registered
from modkit.threads.registry import register

#: Endings of the JSON exports.
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")

register(disqus.NAME, (".xml",), disqus.read_disqus, disqus.DESCRIPTION, sniff=disqus.sniff)
register(wordpress.NAME, (".xml",), wordpress.read_wxr, wordpress.DESCRIPTION, sniff=wordpress.sniff,
         options=("keep_types",))
register(discourse.NAME, (".json",), discourse.read_discourse, discourse.DESCRIPTION, sniff=discourse.sniff)
register(coral.NAME, JSON_SUFFIXES, coral.read_coral, coral.DESCRIPTION, sniff=coral.sniff)
register(reddit.NAME, JSON_SUFFIXES, reddit.read_reddit, reddit.DESCRIPTION, sniff=reddit.sniff)
register(hackernews.NAME, JSON_SUFFIXES, hackernews.read_hackernews, hackernews.DESCRIPTION, sniff=hackernews.sniff)

__all__ = ["JSON_SUFFIXES", "coral", "registered", "discourse", "disqus", "hackernews", "html_to_text", "markdown_to_text",
           "reddit", "wordpress"]
