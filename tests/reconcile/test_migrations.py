"""Schema migrations: forward-only, versioned, each applied in its own transaction."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from reconcile import sql
from reconcile.database import connect, migrate, schema_version
from reconcile.references import settlement_of
from reconcile.store import Store, StoreError

LATEST = len(sql.migrations())

# Rows that are valid right after each migration version, one INSERT per table. Adding a
# migration means adding its sample rows here (a test below insists).
SAMPLE_ROWS: dict[int, dict[str, str]] = {
    1: {
        "workspaces": "INSERT INTO workspaces VALUES ('acme', 'Acme', 'GBP', '2024-01-01 09:00Z')",
        "connections": (
            "INSERT INTO connections VALUES ('amz-1', 'acme', 'amazon', 'Amazon UK', 'channel', "
            "'eu', '{\"marketplaces\": [\"A1F83G8C2ARO7P\"]}', '2025-01-01 00:00+00', "
            "'2024-01-01 00:00+00', NULL)"
        ),
        "feeds": "INSERT INTO feeds VALUES ('amz-1', 'settlements', true)",
        "connection_events": (
            'INSERT INTO connection_events (connection_id, "at", kind, error_class, detail, '
            "counts) VALUES ('amz-1', '2024-01-02 00:00+00', 'sync_failed', 'transient', '503', "
            "'{\"pages\": 1}')"
        ),
        "sync_cursors": (
            "INSERT INTO sync_cursors VALUES ('amz-1', 'settlements', '2024-01-02 00:00+00', now())"
        ),
        "settlements": (
            "INSERT INTO settlements VALUES ('stl_1', 'amz-1', 'S1', '2024-01-01 00:00+00', "
            "'2024-01-15 00:00+00', '2024-01-17', 'GBP', 100, -10.5, 0, 0, 89.5, 'closed', 'file', "
            "'h', 1, now(), now())"
        ),
        "settlement_lines": (
            "INSERT INTO settlement_lines VALUES ('stl_1', 1, 'sale', 100, 'Principal', 'o-1', "
            "'SKU-1', '2024-01-03 00:00+00')"
        ),
        "ledger_entries": (
            "INSERT INTO ledger_entries VALUES ('xero-1', 'inv-1', 'ACCREC', 'AMZ-S1', 'INV-1', "
            "'GBP', 89.5, 'AUTHORISED', '2024-01-17', '2024-01-18 00:00+00')"
        ),
        "postings": (
            "INSERT INTO postings VALUES ('p-1', 'stl_1', 'xero-1', 'key-1', 'AMZ-S1', 'posted', "
            "'[\"inv-1\"]', 'req', 'resp', now(), now())"
        ),
        "audit_log": (
            'INSERT INTO audit_log ("at", actor, action, entity, detail) '
            "VALUES (now(), 'cli', 'post', 'stl_1', '{}')"
        ),
    },
    2: {
        "account_mappings": (
            "INSERT INTO account_mappings VALUES ('acme', 'amazon', 'fee', '404', "
            "'2024-01-01 00:00+00')"
        ),
    },
    3: {
        "ledger_entries": (
            "INSERT INTO ledger_entries VALUES ('xero-1', 'inv-3', 'ACCREC', "
            "'RW stl_0123456789abcdef0123', 'INV-3', 'GBP', 89.5, 'AUTHORISED', '2024-01-17', "
            "'2024-01-18 00:00+00', 'stl_0123456789abcdef0123')"
        ),
    },
    4: {
        "ledger_summary": (
            "INSERT INTO ledger_summary VALUES ('xero-1', 'stl_0123456789abcdef0123', 2, 1, "
            "89.5, 'GBP', 'GBP', 'GBP', [{'object_id': 'inv-3', 'reference': 'RW "
            "stl_0123456789abcdef0123', 'signed': 89.5, 'currency': 'GBP', 'date': '2024-01-17'}])"
        ),
    },
    5: {
        "notebook_cells": (
            "INSERT INTO notebook_cells VALUES ('acme', 1, 'sql', 'fees', "
            "'SELECT 1', '2024-01-17 09:00:00+00')"
        ),
    },
}


def schema(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Everything that makes up the schema, as DuckDB's catalog reports it."""
    queries = {
        "columns": "SELECT table_name, column_index, column_name, data_type, is_nullable, "
        "column_default FROM duckdb_columns() WHERE NOT internal",
        "constraints": "SELECT table_name, constraint_type, constraint_text, "
        "constraint_column_names FROM duckdb_constraints()",
        "sequences": "SELECT sequence_name, start_value, increment_by FROM duckdb_sequences()",
        "indexes": "SELECT table_name, index_name, sql FROM duckdb_indexes()",
    }
    return {name: con.sql(f"{query} ORDER BY ALL").fetchall() for name, query in queries.items()}


def table_rows(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> list[Any]:
    # Through polars: fetching TIMESTAMPTZ as Python objects would need pytz.
    return list(con.sql(f"SELECT * FROM {table} ORDER BY ALL").pl().select(columns).rows())


def fresh_schema(tmp_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = connect(tmp_path / "fresh.duckdb")
    migrate(con)
    try:
        return schema(con)
    finally:
        con.close()


def test_every_migration_has_sample_rows() -> None:
    assert sorted(SAMPLE_ROWS) == [migration.version for migration in sql.migrations()]


def test_an_empty_file_is_migrated_to_the_latest_version(tmp_path: Path) -> None:
    con = connect(tmp_path / "empty.duckdb")
    assert schema_version(con) == 0
    assert migrate(con) == LATEST
    assert schema_version(con) == LATEST
    tables = {row[0] for row in con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert set(SAMPLE_ROWS[1]) | {"schema_migrations"} <= tables
    con.close()


def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    con = connect(tmp_path / "twice.duckdb")
    migrate(con)
    before = schema(con)
    assert migrate(con) == 0
    assert schema(con) == before
    assert con.sql("SELECT count(*) FROM schema_migrations").fetchall() == [(LATEST,)]
    con.close()


@pytest.mark.parametrize("start", range(LATEST + 1))
def test_a_database_at_any_earlier_version_migrates_to_the_fresh_schema_keeping_its_rows(
    start: int, tmp_path: Path
) -> None:
    con = connect(tmp_path / f"v{start}.duckdb")
    migrate(con, target=start)
    assert schema_version(con) == start
    samples = SAMPLE_ROWS.get(start, {})
    for statement in samples.values():
        con.execute(statement)
    kept = {
        table: (columns := [c[0] for c in con.sql(f"DESCRIBE {table}").fetchall()],
                table_rows(con, table, columns))
        for table in samples
    }  # fmt: skip
    assert migrate(con) == LATEST - start
    assert schema(con) == fresh_schema(tmp_path)
    for table, (columns, rows) in kept.items():
        assert table_rows(con, table, columns) == rows, table
    con.close()


def test_a_failing_migration_is_rolled_back_and_the_earlier_ones_stay(tmp_path: Path) -> None:
    broken = sql.Migration(
        LATEST + 1, "broken", "CREATE TABLE half_done (x INTEGER); SELECT * FROM no_such_table"
    )
    con = connect(tmp_path / "broken.duckdb")
    with pytest.raises(duckdb.CatalogException, match="no_such_table"):
        migrate(con, [*sql.migrations(), broken])
    assert schema_version(con) == LATEST
    tables = con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'half_done'")
    assert tables.fetchall() == [(0,)]
    con.close()


def test_a_database_newer_than_the_code_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "newer.duckdb"
    con = connect(path)
    migrate(con)
    con.execute("INSERT INTO schema_migrations VALUES (99, 'from_the_future', now())")
    con.close()
    with pytest.raises(StoreError, match=r"newer\.duckdb: the database is at schema version 99"):
        Store(path).workspaces()
    with pytest.raises(StoreError, match="upgrade the workbench"):
        Store(path).workspaces()


def test_migration_versions_run_from_one_without_holes() -> None:
    migrations = sql.migrations()
    assert [m.version for m in migrations] == list(range(1, LATEST + 1))
    assert migrations[0].name == "initial"


def test_version_3_names_the_settlement_of_every_stored_workbench_reference(
    tmp_path: Path,
) -> None:
    con = connect(tmp_path / "v2.duckdb")
    migrate(con, target=2)
    references = [
        "RW stl_0123456789abcdef0123",
        "RW stl_0123456789abcdef0123 2/2",
        "RW stl_0123456789abcdef012",  # one hex digit short
        "RW stl_0123456789abcdef0123 extra",
        "AMZ-S1",
    ]
    for number, reference in enumerate(references):
        con.execute(
            "INSERT INTO ledger_entries VALUES ('xero-1', $id, 'ACCREC', $reference, NULL, "
            "'GBP', 1, 'PAID', NULL, NULL)",
            {"id": f"inv-{number}", "reference": reference},
        )
    migrate(con)
    stored = con.sql("SELECT reference, settlement_id FROM ledger_entries ORDER BY object_id")
    assert stored.fetchall() == [(ref, settlement_of(ref)) for ref in references]
    assert [row[1] for row in stored.fetchall()][:2] == ["stl_0123456789abcdef0123"] * 2
    con.close()


def test_version_4_summarises_the_live_entries_already_stored_per_ledger_and_settlement(
    tmp_path: Path,
) -> None:
    con = connect(tmp_path / "v3.duckdb")
    migrate(con, target=3)
    stl, other = "stl_0123456789abcdef0123", "stl_fedcba9876543210fedc"
    entries = [  # object id, type, reference, currency, total, status, ledger
        ("inv-1", "ACCREC", f"RW {stl} 1/2", "GBP", "60", "PAID", "xero-1"),
        ("inv-2", "ACCREC", f"RW {stl} 2/2", "GBP", "29.5", "AUTHORISED", "xero-1"),
        ("inv-3", "ACCREC", f"RW {stl} 2/2", "EUR", "29.5", "AUTHORISED", "xero-1"),
        ("inv-4", "ACCPAY", f"RW {stl}", "GBP", "5", "VOIDED", "xero-1"),
        ("inv-5", "ACCPAY", f"RW {other}", "GBP", "7.25", "PAID", "xero-1"),
        ("inv-6", "ACCREC", f"RW {other}", "GBP", "1", "DELETED", "xero-2"),
        ("inv-7", "ACCREC", "AMZ-S1", "GBP", "3", "PAID", "xero-1"),
    ]
    for object_id, kind, reference, currency, total, status, ledger in entries:
        con.execute(
            "INSERT INTO ledger_entries VALUES ($ledger, $id, $kind, $reference, NULL, "
            "$currency, $total, $status, NULL, NULL, $named)",
            {"ledger": ledger, "id": object_id, "kind": kind, "reference": reference,
             "currency": currency, "total": total, "status": status,
             "named": settlement_of(reference)},
        )  # fmt: skip
    migrate(con)
    summary = con.sql("SELECT * FROM ledger_summary ORDER BY ALL").fetchall()
    assert summary == [
        ("xero-1", stl, 3, 2, Decimal("89.5"), "GBP", "GBP", "EUR, GBP", [
            {"object_id": object_id, "reference": f"RW {stl} {part}", "signed": Decimal(total),
             "currency": currency, "date": None}
            for object_id, part, total, currency in (
                ("inv-1", "1/2", "60", "GBP"), ("inv-2", "2/2", "29.5", "GBP"),
                ("inv-3", "2/2", "29.5", "EUR"))
        ]),
        ("xero-1", other, 1, 1, Decimal("-7.25"), "GBP", "GBP", "GBP", None),
    ]  # fmt: skip
    con.close()
