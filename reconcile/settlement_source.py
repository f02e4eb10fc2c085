"""A settlement report file's text as polars reads it: its columns as text, and its hashes.

A plain file on disk is read by polars straight from its path (memory-mapped, no copy held in
Python) while a second thread hashes it; a gzip file, or bytes given in memory, are read from
memory. The columns are found by name in the header line; the repetitive ones are read
dictionary-encoded (Categorical).
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import polars as pl

REQUIRED_COLUMNS: tuple[str, ...] = (
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "order-id",
    "marketplace-name",
    "amount-type",
    "amount-description",
    "amount",
    "posted-date",
    "sku",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("posted-date-time",)
# A few distinct values over a million rows: read dictionary-encoded. (A Categorical reads an
# empty field as null; those are filled back with "".)
REPETITIVE_COLUMNS: tuple[str, ...] = ("settlement-id", "currency", "transaction-type")
REPETITIVE_COLUMNS += ("marketplace-name", "amount-type", "amount-description", "sku")
BINARY = "this is a binary file, not a tab-separated settlement report"
_HEAD = 1 << 16  # enough for the header line, the gzip magic and the binary check
_CHUNK = 1 << 20
_GZIP = b"\x1f\x8b"
T = TypeVar("T")


class Rejected(Exception):
    """The whole file is unreadable: the message says why (and the line, when known)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def file_sha256(source: bytes | Path) -> str:
    """The sha256 of the file as given."""
    return _hashed(source)[0]


def _in_background(work: Callable[[], T]) -> Callable[[], T]:
    """Start `work` on a thread (hashlib and file reads release the GIL); returns its result."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="settlement-hash")
    future = pool.submit(work)
    pool.shutdown(wait=False)
    return future.result


def _hashed(source: bytes | Path) -> tuple[str, bool]:
    """The sha256 of the bytes or of the file, and whether they hold a NUL byte."""
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest(), b"\x00" in source
    digest, nul = hashlib.sha256(), False
    with source.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
            nul = nul or b"\x00" in chunk
    return digest.hexdigest(), nul


@dataclass(frozen=True)
class SettlementText:
    """The report's text as polars reads it (bytes, or the plain file's path) and its hashes."""

    source: bytes | Path
    head: bytes
    hashes: Callable[[], tuple[str, bool]]  # of the text: its sha256, whether it holds a NUL
    file_sha256: Callable[[], str] | None = None  # of the gzip file the text came from

    @classmethod
    def of(cls, given: bytes | Path) -> SettlementText:
        """The file's text (decompressed); hashing starts in the background. Raises `Rejected`
        for a damaged gzip file and `OSError` for a path that cannot be read."""
        if isinstance(given, Path):
            with given.open("rb") as file:
                head = file.read(_HEAD)
            if head[:2] != _GZIP and not (head.isspace() and len(head) == _HEAD):
                return cls(given, head, _in_background(lambda: _hashed(given)))
        data = given if isinstance(given, bytes) else given.read_bytes()
        if data[:2] != _GZIP:
            return cls(data, data[:_HEAD], _in_background(lambda: _hashed(data)))
        gzipped = _in_background(lambda: hashlib.sha256(data).hexdigest())
        text = _decompressed(data)
        return cls(text, text[:_HEAD], _in_background(lambda: _hashed(text)), gzipped)

    def digests(self) -> tuple[str, str]:
        """The sha256 of the file as given and of its text."""
        text = self.hashes()[0]
        return (self.file_sha256() if self.file_sha256 else text), text

    def has_nul(self) -> bool:
        """Whether the text holds a NUL byte (a binary file); may wait for the hashing."""
        if isinstance(self.source, bytes):
            return b"\x00" in self.source
        return b"\x00" in self.head or self.hashes()[1]

    def columns(self) -> pl.DataFrame:
        """The columns the importer reads, as text, with a `line` number column; raises
        `Rejected` when the file is empty, binary, lacks a required column or is not UTF-8."""
        if not self.head or self.head.isspace():
            raise Rejected("the file is empty: download the settlement report again")
        if b"\x00" in (self.source if isinstance(self.source, bytes) else self.head):
            raise Rejected(BINARY)
        count, wanted = _wanted_columns(self.head)
        repetitive = [c for c in REPETITIVE_COLUMNS if c in wanted.values()]
        try:
            frame = _read(self.source, count, wanted, repetitive)
        except pl.exceptions.PolarsError as error:
            raise Rejected(self._unreadable(error)) from None
        if self.has_nul():
            raise Rejected(BINARY)
        missing = [pl.lit("").alias(c) for c in OPTIONAL_COLUMNS if c not in wanted.values()]
        return frame.with_columns(pl.col(repetitive).fill_null(""), *missing)

    def _unreadable(self, error: Exception) -> str:
        if self.has_nul():
            return BINARY
        data = self.source if isinstance(self.source, bytes) else self.source.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:
            line = data.count(b"\n", 0, bad.start) + 1
            return f"line {line}: the file is not UTF-8 text: save it as UTF-8 and import it again"
        return f"the file cannot be read as tab-separated text: {error}"


def _read(
    source: bytes | Path, count: int, wanted: dict[int, str], repetitive: list[str]
) -> pl.DataFrame:
    """The wanted columns of the text (all as text, the repetitive ones Categorical)."""
    return pl.read_csv(
        source,
        columns=list(wanted),
        new_columns=[wanted.get(i, f"unread-{i}") for i in range(count)],
        schema_overrides=dict.fromkeys(repetitive, pl.Categorical),
        separator="\t",
        infer_schema=False,
        quote_char=None,
        truncate_ragged_lines=True,
        empty_string_is_null=False,
        row_index_name="line",
        row_index_offset=2,
    )


def _decompressed(data: bytes) -> bytes:
    try:
        return gzip.decompress(data)
    except EOFError:
        raise Rejected("the gzip file is truncated: download it again") from None
    except (gzip.BadGzipFile, zlib.error) as error:
        raise Rejected(f"the gzip file is damaged ({error}): download it again") from None


def _wanted_columns(head: bytes) -> tuple[int, dict[int, str]]:
    """The number of columns, and the positions of those the importer reads (each required one
    must be there)."""
    end = head.find(b"\n")
    first = head[: end if end >= 0 else len(head)].removeprefix(b"\xef\xbb\xbf")
    names = [name.strip() for name in first.decode("utf-8", "replace").strip().lower().split("\t")]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        hint = " (the file looks comma-separated)" if b"," in first else ""
        raise Rejected(f"missing required columns{hint}: {', '.join(missing)}", line=1)
    known = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
    wanted = {i: name for i, name in enumerate(names) if name in known and name not in names[:i]}
    return len(names), wanted
