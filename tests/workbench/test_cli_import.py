"""`workbench import FILE --connection C`: fill from the settlement report Seller Central serves."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from reconcile.models import Connection
from tests.workbench.conftest import World
from tests.workbench.loopback import Cli, connect_amazon
from workbench.cli import run
from workbench.sync import sync_connection


def closed_groups(world: World) -> list[dict[str, Any]]:
    return [group for group in world.amazon.groups() if group["status"] == "Closed"]


def report_file(world: World, tmp_path: Path, group_id: str) -> Path:
    path = tmp_path / f"{group_id[:8]}.txt"
    path.write_text(world.amazon.control("settlement_report", {"group_id": group_id}))
    return path


def imported(
    world: World, tmp_path: Path, path: Path, capsys: pytest.CaptureFixture[str], *more: str
) -> tuple[int, str, str]:
    code = run(
        ["import", str(path), "--connection", "Amazon US", *more],
        app=world.app(tmp_path / "wb.duckdb"),
    )
    out, err = capsys.readouterr()
    return code, out, err


def sources(world: World) -> list[str]:
    return sorted(world.store.settlements(world.workspace_id)["source"].to_list())


def test_a_settlement_the_api_brought_in_is_matched_not_duplicated(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    connection = world.amazon_connection()
    [result] = sync_connection(world.rt, connection)
    assert result.ok
    before = world.store.settlements(world.workspace_id)
    group = closed_groups(world)[-1]

    code, out, _ = imported(world, tmp_path, report_file(world, tmp_path, group["id"]), capsys)

    assert code == 0
    assert f"matched API settlement {group['id']} (not written): same totals" in out
    assert "0 imported, 0 updated, 0 unchanged, 1 matched an API settlement" in out
    assert world.store.settlements(world.workspace_id).equals(before)


def test_a_window_the_api_cannot_return_is_filled_from_its_report_once(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    group = closed_groups(world)[-2]
    start = group["start"]
    world.amazon.hide("seller", start, start.replace(second=1))
    connection = world.amazon_connection()
    sync_connection(world.rt, connection)
    path = report_file(world, tmp_path, group["id"])

    code, out, _ = imported(world, tmp_path, path, capsys)
    again, out_again, _ = imported(world, tmp_path, path, capsys, "--workspace", "Acme Ltd")

    assert (code, again) == (0, 0)
    assert f"{group['lines']} lines, {group['total']} USD): imported" in out
    assert "unchanged (imported before with the same content)" in out_again
    assert "(nothing changed)" in out_again
    assert sources(world).count("file") == 1
    assert len(sources(world)) == len(closed_groups(world)) + 1  # the open one too
    stored = world.store.settlements(world.workspace_id).filter(source="file")
    assert stored["net"].to_list() == [Decimal(group["total"])]
    assert stored["period_start"].to_list() == [group["start"]]


def test_a_bad_file_prints_each_problem_and_imports_nothing(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.amazon_connection()
    path = report_file(world, tmp_path, closed_groups(world)[-1]["id"])
    rows = path.read_text().splitlines()
    for number in (3, 5):
        fields = rows[number - 1].split("\t")
        fields[14] = "twelve"
        rows[number - 1] = "\t".join(fields)
    path.write_text("\n".join(rows) + "\n")

    code, out, err = imported(world, tmp_path, path, capsys)

    assert code == 1
    assert out == ""
    problems = [line for line in err.splitlines() if line.startswith(path.name)]
    assert problems == [
        f"{path.name}: line 3, amount: 'twelve' is not an amount (this file writes them as "
        f"1,234.56)",
        f"{path.name}: line 5, amount: 'twelve' is not an amount (this file writes them as "
        f"1,234.56)",
    ]
    assert "nothing imported" in err.splitlines()[-1]
    assert world.store.settlements(world.workspace_id).is_empty()


def test_importing_into_a_ledger_connection_is_a_user_error(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = Connection(
        id="xero-1", workspace_id=world.workspace_id, provider="xero", name="Xero",
        kind="ledger", created_at=world.clock.now(),
    )  # fmt: skip
    world.store.add_connection(ledger, ("ledger_entries",))
    path = tmp_path / "r.txt"
    path.write_text("settlement-id\n")

    code = run(["import", str(path), "--connection", "Xero"], app=world.app(tmp_path / "wb.duckdb"))

    assert code == 1
    assert "is a xero connection" in capsys.readouterr().err


@pytest.mark.slow
def test_the_report_from_the_served_sandbox_imports_through_the_real_cli(cli: Cli) -> None:
    cli("init")
    cli("workspace", "add", "Acme Ltd", "--currency", "USD")
    connect_amazon(cli, "--region", "na", "--marketplace", "US")
    groups = cli.control("amazon", "groups")
    group = next(g for g in groups if g["status"] == "Closed")
    start = datetime.fromisoformat(group["start"])
    cli.control("amazon", "hide", start=group["start"], end=start.replace(second=1).isoformat())
    path = Path(cli.env["WORKBENCH_DB"]).with_name("report.txt")
    path.write_text(cli.control("amazon", "settlement_report", group_id=group["id"]))

    done = cli("import", str(path), "--connection", "Amazon US")

    assert "1 imported" in done.stdout
    listed = json.loads(cli("settlements", "--format", "json").stdout)
    assert [(s["source"], s["net"]) for s in listed] == [("file", group["total"])]
