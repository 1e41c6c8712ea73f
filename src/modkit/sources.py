"""Turn SOURCE arguments (a file, a folder, or a unique prefix) into page paths."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from modkit.errors import SourceError

#: File endings modkit reads as pages when it walks a folder: scraped pages, CSV/JSONL/Parquet
#: exports, and the platform exports (Disqus and WordPress ``.xml``; Coral, Reddit, Hacker News
#: and Discourse ``.json``/``.jsonl``/``.ndjson``, told apart by content, see modkit.threads.formats).
PAGE_SUFFIXES = (".txt", ".csv", ".jsonl", ".xml", ".json", ".ndjson", ".parquet")
#: Endings whose reader needs an optional package (``pip install 'modkit[scale]'``).
PARQUET_SUFFIXES = (".parquet",)


def check_readers(names: Iterable[str | Path]) -> None:
    """Raise one :class:`~modkit.tables.MissingDependencyError` (exit 1) when a file among
    ``names`` needs an optional package that is not installed (a ``.parquet`` file: pyarrow),
    so that a command stops before its work rather than failing on every such file."""
    for name in names:
        if str(name).lower().endswith(PARQUET_SUFFIXES):
            from modkit.tables import require_pyarrow

            require_pyarrow(f"{name}: reading Parquet")
            return


def _is_page(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".") and path.suffix.lower() in PAGE_SUFFIXES


def resolve_source(source: str | Path) -> list[Path]:
    """Resolve one SOURCE to the page files it names, in name order.

    - a file: that file;
    - a folder: every page file directly in it (:data:`PAGE_SUFFIXES`), in name order;
    - otherwise a prefix: ``seeds/004`` is the one file whose path starts with ``seeds/004``.

    Raises :class:`SourceError` (exit code 2) when nothing matches or a prefix is ambiguous,
    naming the candidates, and :class:`~modkit.tables.MissingDependencyError` (exit 1) when a
    ``.parquet`` file is named and pyarrow is not installed (:func:`check_readers`).
    """
    path = Path(source)
    if path.is_file():
        check_readers([path])
        return [path]
    if path.is_dir():
        pages = sorted((p for p in path.iterdir() if _is_page(p)), key=lambda p: p.name)
        if not pages:
            raise SourceError(f"{source}: folder holds no page files ({', '.join(PAGE_SUFFIXES)})")
        check_readers(pages)
        return pages
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise SourceError(f"{source}: no such file, folder or prefix")
    candidates = sorted(
        (p for p in parent.iterdir() if p.name.startswith(path.name) and _is_page(p)),
        key=lambda p: p.name,
    )
    if not candidates:
        raise SourceError(f"{source}: no such file, folder or prefix")
    if len(candidates) > 1:
        names = ", ".join(str(p) for p in candidates)
        raise SourceError(f"{source}: ambiguous prefix, matches {len(candidates)} files: {names}")
    check_readers(candidates)
    return candidates


def resolve_sources(sources: Iterable[str | Path]) -> list[Path]:
    """Resolve several SOURCE arguments; each page appears once, in the order given."""
    seen: set[Path] = set()
    out: list[Path] = []
    for source in sources:
        for page in resolve_source(source):
            key = page.resolve()
            if key not in seen:
                seen.add(key)
                out.append(page)
    return out
