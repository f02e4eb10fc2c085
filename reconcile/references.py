"""The references the workbench writes on ledger entries, and how to read them back.

A settlement posted to the ledger carries `RW stl_<20 hex>` as its reference (with ` 1/2`,
` 2/2` when a settlement spanning a month end is split into parts). The reference is derived
from the settlement id alone, so every resend of a posting finds what an earlier attempt
created, and gap detection can tell which ledger entries belong to which settlement.
"""

from __future__ import annotations

import re

PREFIX = "RW "
# The same pattern in SQL: regexp_extract(reference, REFERENCE_SQL_PATTERN, 1) -> settlement id.
REFERENCE_SQL_PATTERN = r"^RW (stl_[0-9a-f]{20})(?: [0-9]+/[0-9]+)?$"
_REFERENCE = re.compile(REFERENCE_SQL_PATTERN)
_SETTLEMENT_ID = re.compile(r"^stl_[0-9a-f]{20}$")


def settlement_reference(settlement_id: str, part: int = 1, parts: int = 1) -> str:
    """The ledger reference of (one part of) a settlement's posting."""
    if not _SETTLEMENT_ID.match(settlement_id):
        raise ValueError(f"not a settlement id: {settlement_id!r}")
    if not 1 <= part <= parts:
        raise ValueError(f"part {part} of {parts} is out of range")
    suffix = f" {part}/{parts}" if parts > 1 else ""
    return f"{PREFIX}{settlement_id}{suffix}"


def settlement_of(reference: str) -> str | None:
    """The settlement id a workbench reference names, None for any other reference."""
    match = _REFERENCE.match(reference)
    return match[1] if match else None
