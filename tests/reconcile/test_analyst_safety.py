"""What a cell cannot do: read the machine's files, write the database, loosen the lock-down,
see another workspace, or outrun its time and row limits. Each rule is tried through the
session (as a cell runs) and, where the statement check would refuse it first, against the
sealed database itself, so the engine's own lock-down is shown to hold on its own."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from reconcile.analyst import VIEWS, AnalystSession, Limits, QueryError, open_session
from reconcile.safe_query import sealed
from reconcile.store import Store
from tests.reconcile.test_analyst_notebook import small_store

SECRET = "root-password-hunter2"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two workspaces with settlements, written through the store."""
    return Path(small_store(tmp_path_factory.mktemp("safety") / "wb.duckdb").path)


@pytest.fixture(scope="module")
def session(db: Path) -> AnalystSession:
    return open_session(db, "Acme Ltd", limits=Limits(seconds=1.5))


@pytest.fixture(scope="module")
def machine_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file of the machine that no cell may read."""
    path = tmp_path_factory.mktemp("machine") / "secrets.csv"
    path.write_text(f"name,password\nroot,{SECRET}\n")
    return path


def refused(session: AnalystSession, query: str) -> str:
    """Run `query` as cell 7; it must fail with a message and no rows; return the message."""
    result = session.run(query, label="cell 7")
    assert not result.ok, query
    assert result.frame.is_empty()
    assert result.message is not None and result.message.startswith("cell 7: ")
    assert "Traceback" not in result.message
    return result.message


# -- files of the machine ------------------------------------------------------------------------

FILE_READS = [
    "SELECT * FROM read_csv('{path}')",
    "SELECT * FROM read_csv_auto('{path}')",
    "SELECT * FROM read_text('{path}')",
    "SELECT * FROM read_blob('{path}')",
    "SELECT * FROM read_json('{path}')",
    "SELECT * FROM read_parquet('{path}')",
    "SELECT * FROM parquet_metadata('{path}')",
    "SELECT * FROM sniff_csv('{path}')",
    "SELECT * FROM glob('{folder}/*')",
    "SELECT * FROM '{path}'",
    "FROM read_csv(['{path}', '/etc/passwd'])",
    "WITH t AS (SELECT * FROM read_text('{path}')) SELECT content FROM t",
]


@pytest.mark.parametrize("template", FILE_READS)
def test_a_cell_cannot_read_a_file_of_the_machine(
    session: AnalystSession, machine_file: Path, template: str
) -> None:
    query = template.format(path=machine_file, folder=machine_file.parent)
    message = refused(session, query)
    assert SECRET not in message


def test_an_earlier_cell_cannot_smuggle_a_file_read_into_a_later_one(
    session: AnalystSession, machine_file: Path
) -> None:
    from reconcile.analyst import NamedQuery

    sneaky = NamedQuery(("cell_1",), f"SELECT * FROM read_text('{machine_file}')", "cell 1")
    result = session.run("SELECT * FROM cell_1", label="cell 2", earlier=[sneaky])
    assert not result.ok
    assert result.error is not None and "cell 1" in result.error
    assert SECRET not in result.error


@pytest.mark.parametrize(
    "statement",
    [
        "COPY v_settlements TO '{out}'",
        "COPY (SELECT 1) TO '{out}' (FORMAT csv)",
        "EXPORT DATABASE '{folder}'",
        "ATTACH '{db}' AS theirs",
        "ATTACH '{db}' AS theirs (READ_ONLY)",
        "INSTALL httpfs",
        "LOAD httpfs",
        "LOAD '{folder}/evil.duckdb_extension'",
    ],
)
def test_copy_attach_install_and_load_are_refused_by_the_engine_itself(
    session: AnalystSession, db: Path, tmp_path: Path, statement: str
) -> None:
    text = statement.format(out=tmp_path / "out.csv", folder=tmp_path / "export", db=db)
    refused(session, text)
    views = {"v_settlements": pl.DataFrame({"net": [1]}).to_arrow()}
    with sealed(views, Limits()) as con, pytest.raises(duckdb.Error) as raised:
        con.execute(text)
    assert "disabled" in str(raised.value) or "not allowed" in str(raised.value).lower()
    assert list(tmp_path.iterdir()) == []


def test_a_copy_from_the_machine_is_refused(session: AnalystSession, machine_file: Path) -> None:
    refused(session, f"COPY v_settlements FROM '{machine_file}'")
    with sealed({}, Limits()) as con:
        con.execute("CREATE TABLE t (name VARCHAR, password VARCHAR)")
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"COPY t FROM '{machine_file}'")


@pytest.mark.parametrize(
    "statement",
    [
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "RESET lock_configuration",
        "RESET enable_external_access",
        "SET autoload_known_extensions = true",
        "SET allow_community_extensions = true",
        "SET memory_limit = '64GB'",
        "PRAGMA enable_profiling",
    ],
)
def test_the_lock_down_cannot_be_loosened(session: AnalystSession, statement: str) -> None:
    refused(session, statement)
    with sealed({}, Limits()) as con:
        with pytest.raises(duckdb.Error, match="configuration has been locked"):
            con.execute(statement)
        assert con.sql("SELECT current_setting('enable_external_access')").fetchall() == [(False,)]


def test_python_objects_of_the_caller_are_out_of_reach(session: AnalystSession) -> None:
    secret_frame = pl.DataFrame({"password": [SECRET]})
    message = refused(session, "SELECT * FROM secret_frame")
    assert "secret_frame" in message
    assert secret_frame.height == 1  # still here: the cell just could not see it


# -- writing ---------------------------------------------------------------------------------------


def fingerprint(path: Path) -> str:
    store = Store(path)
    with store.read() as con:
        counts = [
            con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            for table in ("settlements", "settlement_lines", "postings", "connection_events")
        ]
    return f"{counts}:{hashlib.sha256(path.read_bytes()).hexdigest()}"


WRITES = [
    "INSERT INTO v_settlements SELECT * FROM v_settlements",
    "UPDATE v_settlements SET net = 0",
    "DELETE FROM v_settlement_lines",
    "CREATE TABLE stolen AS SELECT * FROM v_settlements",
    "CREATE TEMP TABLE scratch (x INT)",
    "CREATE VIEW v_mine AS SELECT 1",
    "DROP VIEW v_settlements",
    "ALTER VIEW v_settlements RENAME TO gone",
    "CHECKPOINT",
    "DETACH memory",
    "USE system",
    "BEGIN TRANSACTION",
    "SELECT 1; DROP VIEW v_settlements",
    "CALL pragma_version()",
]


def test_a_cell_cannot_write_and_the_database_file_stays_as_it_was(
    db: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "wb.duckdb"
    copy.write_bytes(db.read_bytes())
    before = fingerprint(copy)
    with open_session(copy, "Acme Ltd") as s:
        settlements = s.sql("SELECT * FROM v_settlements")
        for statement in WRITES:
            message = refused(s, statement)
            assert "one statement" in message or "only read" in message, statement
        assert s.sql("SELECT * FROM v_settlements").equals(settlements)
    assert fingerprint(copy) == before


def test_the_views_are_read_only_in_the_engine_too(session: AnalystSession) -> None:
    with sealed({"v_settlements": pl.DataFrame({"net": [1]}).to_arrow()}, Limits()) as con:
        for statement in WRITES[:3]:
            with pytest.raises(duckdb.Error):
                con.execute(statement)
        assert con.sql("SELECT * FROM v_settlements").fetchall() == [(1,)]


def test_the_sealed_database_holds_only_the_views(session: AnalystSession) -> None:
    result = session.run("SELECT DISTINCT table_name FROM information_schema.tables ORDER BY 1")
    assert set(result.frame["table_name"]) == set(VIEWS)
    databases = session.run("SELECT database_name, path FROM duckdb_databases() WHERE NOT internal")
    assert databases.frame.rows() == [("memory", None)]


# -- limits ----------------------------------------------------------------------------------------

SLOW = "SELECT sum(a.range * b.range) AS s FROM range(100000000) AS a, range(100000000) AS b"


def test_a_slow_cell_is_stopped_at_the_time_limit(session: AnalystSession) -> None:
    started = time.monotonic()
    result = session.run(SLOW, label="cell 4")
    took = time.monotonic() - started
    assert result.message is not None
    assert "cell 4: stopped at the time limit of 1.5 s" in result.message
    assert 1.5 <= took < 1.5 + 2.0
    assert result.elapsed == pytest.approx(took, abs=0.2)


def test_a_slow_earlier_cell_cannot_outrun_the_limit_through_a_later_one(
    session: AnalystSession,
) -> None:
    from reconcile.analyst import NamedQuery

    slow = NamedQuery(("cell_1", "everything"), SLOW, "cell 1")
    started = time.monotonic()
    result = session.run("SELECT * FROM everything", label="cell 2", earlier=[slow])
    assert result.error is not None and "time limit" in result.error
    assert time.monotonic() - started < 1.5 + 2.0


def test_a_notebook_query_is_stopped_at_the_time_limit_too(session: AnalystSession) -> None:
    started = time.monotonic()
    with pytest.raises(QueryError, match=r"time limit of 1\.5 s"):
        session.sql(SLOW)
    assert time.monotonic() - started < 1.5 + 2.0


def test_a_large_result_is_cut_at_the_row_limit_and_says_so(session: AnalystSession) -> None:
    result = session.run("SELECT range AS n FROM range(100000) ORDER BY n DESC", label="cell 1")
    assert result.ok
    assert result.truncated
    assert result.frame.height == result.row_limit == 1000
    assert result.frame["n"][0] == 99_999
    assert result.summary().startswith("showing the first 1,000 of at least 1,001 rows in ")


def test_a_result_exactly_at_the_limit_is_whole(session: AnalystSession) -> None:
    result = session.run("SELECT * FROM range(1000)")
    assert (result.frame.height, result.truncated) == (1000, False)
    assert result.summary().startswith("1,000 rows in ")


def test_a_billion_row_result_streams_only_the_rows_it_shows(session: AnalystSession) -> None:
    result = session.run("SELECT range AS n, range * 2 AS twice FROM range(1000000000)")
    assert result.ok and result.truncated and result.frame.height == 1000
    assert result.elapsed < 1.5


# -- messages --------------------------------------------------------------------------------------


def test_a_bad_query_gives_duckdbs_message_naming_the_cell(session: AnalystSession) -> None:
    message = refused(session, "SELECT no_such_column FROM v_settlements")
    assert message.startswith('cell 7: Binder Error: Referenced column "no_such_column" not')
    assert refused(session, "SELEC 1").startswith("cell 7: Parser Error: syntax error")
    assert "empty" in refused(session, "  -- nothing\n")


def test_intervals_and_unions_come_back_as_text(session: AnalystSession) -> None:
    result = session.run(
        'SELECT "end" - start AS lasted, [INTERVAL 1 DAY] AS spans, '
        "union_value(k := 1) AS u FROM v_health_intervals LIMIT 1"
    )
    assert result.ok, result.error
    assert result.frame.schema == pl.Schema(
        {"lasted": pl.String, "spans": pl.String, "u": pl.String}
    )
