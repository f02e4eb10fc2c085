"""Bad input: one clear line on stderr, the documented exit code, nothing half-written."""

from __future__ import annotations

from tests.workbench.loopback import Cli, connect_amazon

FAULTS = {
    "malformed": "not the documented JSON",
    "html": "not the documented JSON",
    "errors_body": "InternalFailure",
    "repeat_token": "repeated a page token",
}


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("error: ")
    return lines[0]


def test_connect_refuses_bad_input_in_one_line_and_stores_nothing(cli: Cli) -> None:
    cli("init")
    cli("workspace", "add", "Acme Ltd", "--currency", "USD")
    unknown = cli("connect", "ebay", "--workspace", "Acme Ltd", expect=2)
    assert "unknown provider 'ebay'; choose one of: amazon, xero" in one_line(unknown.stderr)
    region = connect_amazon(cli, "--region", "xx", "--marketplace", "US", expect=1)
    assert "unknown Amazon region 'xx'" in one_line(region)
    market = connect_amazon(cli, "--region", "na", "--marketplace", "ZZ", expect=1)
    assert "ZZ" in one_line(market)
    wrong_region = connect_amazon(cli, "--region", "eu", "--marketplace", "US", expect=1)
    assert "na" in one_line(wrong_region)
    missing = connect_amazon(
        cli, "--region", "na", "--marketplace", "US", env={"AMZ_TOKEN": ""}, expect=1
    )
    assert "AMZ_TOKEN" in one_line(missing)
    workspace = cli(
        "connect",
        "amazon",
        "--workspace",
        "Nobody",
        "--name",
        "x",
        "--region",
        "na",
        "--marketplace",
        "US",
        "--client-id",
        "x",
        expect=1,
    )
    assert "Nobody" in one_line(workspace.stderr)
    assert cli.json("connections") == []


def test_a_broken_provider_answer_fails_sync_in_one_line_and_stores_nothing(cli: Cli) -> None:
    cli("init")
    cli("workspace", "add", "Acme Ltd", "--currency", "USD")
    connect_amazon(cli, "--region", "na", "--marketplace", "US")
    for fault, message in FAULTS.items():
        cli.control("amazon", "add_fault", kind=fault, path_prefix="/finances", times=-1)
        failed = cli("sync", expect=1)
        line = one_line(failed.stderr)
        assert "(data)" in line
        assert message in line
        assert cli.json("settlements") == []
        cli.control("amazon", "clear_faults")
    failures = [e for e in cli.json("events") if e["kind"] == "sync_failed"]
    assert [e["error_class"] for e in failures] == ["data"] * len(FAULTS)
    assert cli.json("connections")[0]["status"] == "degraded"
    cli("sync")
    assert len(cli.json("settlements")) == len(cli.control("amazon", "groups"))


def test_usage_and_lookup_errors_are_one_line_before_any_secret_is_asked(cli: Cli) -> None:
    bare = cli(expect=2)
    assert "Usage: workbench" in bare.stderr
    cli("init")
    cli("workspace", "add", "Acme Ltd", "--currency", "USD")
    unknown = cli("reconnect", "Nobody", expect=1)
    assert "Nobody" in one_line(unknown.stderr)
    connect_amazon(cli, "--region", "na", "--marketplace", "US")
    again = connect_amazon(cli, "--region", "na", "--marketplace", "US", expect=1)
    assert "already has a connection named 'Amazon US'" in one_line(again)
    assert len(cli.json("connections")) == 1
