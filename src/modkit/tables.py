"""Parquet files through pyarrow: the optional dependency behind ``--format parquet`` and
``.parquet`` SOURCEs (``pip install 'modkit[scale]'``).

pyarrow is imported only when a Parquet file is read or written, so the rest of modkit runs
without it; without it, :func:`require_pyarrow` gives one :class:`MissingDependencyError` line
(``... needs pyarrow: pip install 'modkit[scale]'``, exit 1).

- :func:`parquet_sink` writes a Parquet file whole or not at all (a temporary file beside the
  target, fsynced and renamed: :func:`modkit.safeio.atomic_write`), in row groups of
  :data:`ROW_GROUP_ROWS` rows, so memory holds one row group, not the file.
- :func:`open_parquet` and :func:`iter_batches` read one back a record batch at a time; a
  corrupt file, a missing column or a column of the wrong type is one
  :class:`~modkit.errors.ParseError` naming the file (and the column).

>>> from modkit import tables
>>> with tables.parquet_sink("out.parquet", tables.schema({"id": "string", "depth": "int64"})) as sink:
...     sink.write_rows({"id": ["c1", "c2"], "depth": [0, 1]})
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from modkit.errors import ModkitError, ParseError
from modkit.safeio import atomic_write

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

#: Rows per row group of the Parquet files modkit writes: what a writer holds in memory at a time.
ROW_GROUP_ROWS = 64 * 1024
#: Rows per record batch a reader turns into Python values at a time (a Python string costs up
#: to 4 bytes a character, so this is smaller than a row group, which Arrow holds decoded).
READ_BATCH_ROWS = 8 * 1024
#: The extra that installs pyarrow.
INSTALL_HINT = "pip install 'modkit[scale]'"
#: Column kinds :func:`schema` knows: modkit's tables hold text, whole numbers and decimals.
KINDS = ("string", "int64", "float64")


class MissingDependencyError(ModkitError):
    """An optional package a command needs is not installed (exit 1). Not a file's fault: a
    command stops at the first one instead of reporting every file it would have read."""


def require_pyarrow(what: str = "Parquet") -> ModuleType:
    """``pyarrow``, or :class:`MissingDependencyError` ``"{what} needs pyarrow: pip install ..."``."""
    try:
        import pyarrow
        import pyarrow.parquet  # the submodule is what modkit uses
    except ImportError:
        raise MissingDependencyError(f"{what} needs pyarrow: {INSTALL_HINT}") from None
    return pyarrow


def have_pyarrow() -> bool:
    """Whether pyarrow can be imported."""
    try:
        require_pyarrow()
    except MissingDependencyError:
        return False
    return True


def schema(columns: Mapping[str, str]) -> pa.Schema:
    """An Arrow schema from ``{column: kind}`` (kinds: :data:`KINDS`); every column nullable."""
    pa = require_pyarrow()
    types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}
    unknown = [k for k in columns.values() if k not in types]
    if unknown:
        raise ValueError(f"unknown column kind {unknown[0]!r}: expected one of {', '.join(KINDS)}")
    return pa.schema([(name, types[kind]) for name, kind in columns.items()])


class ParquetSink:
    """Rows on their way into a Parquet file, written in row groups of ``row_group_rows`` rows
    however they are handed in (:meth:`write_rows`, :meth:`write_table`): the same rows give the
    same file. Memory: about one row group of rows. Made by :func:`parquet_sink`."""

    def __init__(self, writer: pq.ParquetWriter, schema: pa.Schema, row_group_rows: int = ROW_GROUP_ROWS) -> None:
        self.schema, self.row_group_rows = schema, max(1, row_group_rows)
        self.rows = 0  #: rows handed in so far
        self._writer = writer
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def write_rows(self, columns: Mapping[str, Sequence[Any]]) -> None:
        """Add rows given as ``{column: values}`` (every column of the schema, equal lengths)."""
        import pyarrow as pa

        self.write_table(pa.Table.from_pydict(dict(columns), schema=self.schema))

    def write_table(self, table: pa.Table) -> None:
        """Add the rows of ``table`` (its columns are put in the schema's order and types)."""
        if table.schema != self.schema:
            table = table.select(self.schema.names).cast(self.schema)
        if not table.num_rows:
            return
        self._pending.append(table)
        self._pending_rows += table.num_rows
        self.rows += table.num_rows
        while self._pending_rows >= self.row_group_rows:
            self._flush(self.row_group_rows)

    def _flush(self, n: int) -> None:
        import pyarrow as pa

        table = pa.concat_tables(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._writer.write_table(table.slice(0, n), row_group_size=n)
        rest = table.slice(n)
        self._pending = [rest] if rest.num_rows else []
        self._pending_rows = rest.num_rows

    def _finish(self) -> None:
        if self._pending_rows:
            self._flush(self._pending_rows)
        self._writer.close()  # writes the footer; the file itself is closed by atomic_write


@contextlib.contextmanager
def parquet_sink(path: str | Path, schema: pa.Schema, row_group_rows: int = ROW_GROUP_ROWS) -> Iterator[ParquetSink]:
    """Write the Parquet file ``path`` with ``schema``, whole or not at all: the rows go to a
    temporary file beside it which, on a clean exit, is completed, fsynced and renamed over
    ``path`` (:func:`modkit.safeio.atomic_write`); on an exception ``path`` is left as it was.
    OS errors (a full disk) become one :class:`ModkitError` naming ``path``. zstd-compressed;
    pandas, Polars, DuckDB, Spark and Dask read it."""
    require_pyarrow(f"{path}: writing Parquet")
    import pyarrow.parquet as pq

    with atomic_write(path, "wb") as fh:
        writer = pq.ParquetWriter(fh, schema, compression="zstd")
        sink = ParquetSink(writer, schema, row_group_rows)
        try:
            yield sink
            sink._finish()
        except BaseException:
            with contextlib.suppress(Exception):
                writer.close()
            raise


def open_parquet(path: str | Path) -> pq.ParquetFile:
    """``pyarrow.parquet.ParquetFile(path)``, or one :class:`ParseError` naming the file when it
    is not a readable Parquet file (truncated, corrupt, not Parquet at all)."""
    require_pyarrow(f"{path}: reading Parquet")
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except OSError as exc:
        if exc.errno is not None:  # the machine's (permission, missing file): the caller's message
            raise
        raise ParseError(path, None, f"not a readable Parquet file ({_first_line(exc)})") from None
    except (pa.ArrowException, ValueError) as exc:
        raise ParseError(path, None, f"not a readable Parquet file ({_first_line(exc)})") from None


def column_kinds(pf: pq.ParquetFile) -> dict[str, str]:
    """Column name -> ``"string"``, ``"int64"``/``"float64"`` (any whole or decimal number),
    ``"bool"``, ``"timestamp"`` or the Arrow type's name for anything else (lists, structs, bytes)."""
    import pyarrow as pa

    out: dict[str, str] = {}
    for f in pf.schema_arrow:
        t = f.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_string(t) or pa.types.is_large_string(t) or getattr(pa.types, "is_string_view", bool)(t):
            out[f.name] = "string"
        elif pa.types.is_integer(t):
            out[f.name] = "int64"
        elif pa.types.is_floating(t) or pa.types.is_decimal(t):
            out[f.name] = "float64"
        elif pa.types.is_boolean(t):
            out[f.name] = "bool"
        elif pa.types.is_timestamp(t) or pa.types.is_date(t):
            out[f.name] = "timestamp"
        elif pa.types.is_null(t):
            out[f.name] = "null"
        else:
            out[f.name] = str(t)
    return out


def iter_batches(pf: pq.ParquetFile, path: str | Path, columns: Iterable[str],
                 batch_size: int = READ_BATCH_ROWS) -> Iterator[dict[str, list[Any]]]:
    """The ``columns`` of ``pf`` as ``{column: [python values]}``, one record batch of at most
    ``batch_size`` rows at a time (memory: one batch). Damage found while reading (a corrupt
    page, a row group cut short) is one :class:`ParseError` naming ``path``."""
    import pyarrow as pa

    names = list(columns)
    try:
        for batch in pf.iter_batches(batch_size=batch_size, columns=names, use_threads=False):
            yield {name: batch.column(i).to_pylist() for i, name in enumerate(names)}
    except OSError as exc:
        if exc.errno is not None:
            raise
        raise ParseError(path, None, f"damaged Parquet data ({_first_line(exc)})") from None
    except (pa.ArrowException, ValueError, UnicodeDecodeError) as exc:
        raise ParseError(path, None, f"damaged Parquet data ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


__all__ = [
    "INSTALL_HINT",
    "KINDS",
    "READ_BATCH_ROWS",
    "ROW_GROUP_ROWS",
    "MissingDependencyError",
    "ParquetSink",
    "column_kinds",
    "have_pyarrow",
    "iter_batches",
    "open_parquet",
    "parquet_sink",
    "require_pyarrow",
    "schema",
]
