"""`workbench post`, `unpost` and `accounts`: posting settlements to the ledger exactly once."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

import click

from connectors.registry import provider
from reconcile.accounts import MappingError, account_rows, set_account
from reconcile.money import format_amount
from reconcile.outbox import OutboxConflict
from workbench import unposting
from workbench.cli_common import UserError, format_option, pass_app
from workbench.context import AppContext
from workbench.output import Format, render
from workbench.posting import post_workspace
from workbench.posting_plans import Planned, PostingError, PostRun, plan_workspace

HELD_COLUMNS = ("connection", "settlement_id", "settlement", "reason", "difference", "message")
PLAN_COLUMNS = ("connection", "settlement_id", "settlement", "state", "type", "net", "currency")
DRY_COLUMNS = (*PLAN_COLUMNS, "reason", "difference", "message", "invoices", "payments")
OUTCOME_COLUMNS = ("connection", "settlement_id", "settlement", "state", "message")
ACCOUNT_COLUMNS = ("workspace", "provider", "category", "account_code", "source")


def register(group: click.Group) -> None:
    """Add the posting commands to the `workbench` group."""
    group.add_command(post)
    group.add_command(unpost)
    group.add_command(accounts)


def _user_errors(work: Callable[[], Any]) -> Any:
    try:
        return work()
    except (PostingError, OutboxConflict, MappingError) as error:
        raise UserError(str(error)) from None


# -- post ----------------------------------------------------------------------------------------


@click.command()
@click.option("--workspace", "workspace_ref", default=None, help="Only this workspace.")
@click.option(
    "--settlement", default=None, help="Only this settlement (its id or the provider's id)."
)
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send nothing.")
@format_option
@pass_app
def post(
    app: AppContext,
    workspace_ref: str | None,
    settlement: str | None,
    dry_run: bool,
    fmt: Format,
) -> None:
    """Post closed settlements to the ledger, exactly once (on-hold ones are listed)."""
    rt = app.runtime()
    spaces = _post_workspaces(app, workspace_ref, settlement)
    if dry_run:
        runs = [_user_errors(partial(plan_workspace, rt, ws, settlement)) for ws in spaces]
        click.echo(_dry_run(runs, fmt))
        return
    table = fmt == "table"

    def progress(line: str) -> None:
        click.echo(line, err=not table)

    send = partial(post_workspace, rt, settlement=settlement, progress=progress)
    runs = [_user_errors(partial(send, ws)) for ws in spaces]
    outcomes = [_outcome_row(o) for run in runs for o in run.outcomes]
    if not table:
        click.echo(render(outcomes, OUTCOME_COLUMNS, fmt))
    _summary(runs, progress)


def _post_workspaces(
    app: AppContext, workspace_ref: str | None, settlement: str | None
) -> list[str]:
    if workspace_ref:
        return [app.store.workspace(workspace_ref).id]
    if settlement:
        row = _user_errors(lambda: unposting.settlement_row(app.runtime(), settlement))
        return [app.store.connection(row["connection_id"]).workspace_id]
    ledgers = {c.workspace_id for c in app.store.connections() if c.kind == "ledger"}
    spaces = [w.id for w in app.store.workspaces() if w.id in ledgers]
    if not spaces:
        raise UserError("no workspace has a ledger connected: connect Xero first")
    return spaces


def _summary(runs: list[PostRun], say: Callable[[str], None]) -> None:
    held = [item for run in runs for item in run.held]
    for item in held:
        say(
            f"on hold: {item.candidate.connection} {item.plan.provider_settlement_id}: "
            f"{item.plan.hold.message if item.plan.hold else ''}"
        )
    counts = {
        state: sum(run.count(state) for run in runs)
        for state in ("posted", "failed", "interrupted")
    }
    waiting = sum(len(run.ready) for run in runs) - sum(len(run.outcomes) for run in runs)
    say(
        f"{counts['posted']} posted, {counts['failed']} failed, {len(held)} on hold"
        + (
            f", {counts['interrupted']} interrupted, {waiting} not tried"
            if counts["interrupted"]
            else ""
        )
    )
    if counts["failed"] or counts["interrupted"]:
        raise UserError(
            f"{counts['failed'] + counts['interrupted']} settlements were not posted (see above): "
            f"fix what the ledger said, then run `workbench post` again"
        )


def _outcome_row(outcome: Any) -> dict[str, Any]:
    return {
        "connection": outcome.connection,
        "settlement_id": outcome.settlement_id,
        "settlement": outcome.provider_settlement_id,
        "state": outcome.state,
        "message": outcome.message,
        "objects": outcome.objects,
    }


# -- dry run -------------------------------------------------------------------------------------


def _plan_row(item: Planned) -> dict[str, Any]:
    plan = item.plan
    row: dict[str, Any] = {
        "connection": item.candidate.connection,
        "settlement_id": plan.settlement_id,
        "settlement": plan.provider_settlement_id,
        "state": "on_hold" if plan.hold else "ready",
        "type": plan.entries[0].type if plan.entries else None,
        "net": format_amount(plan.net, plan.currency),
        "currency": plan.currency,
        "reason": plan.hold.reason.value if plan.hold else None,
        "difference": format_amount(plan.hold.difference, plan.currency) if plan.hold else None,
        "message": plan.hold.message if plan.hold else None,
        "invoices": [draft.wire() for draft in item.drafts],
        "payments": [draft.wire() for draft in item.payment_drafts({})],
    }
    return row


def _dry_run(runs: list[PostRun], fmt: Format) -> str:
    rows = [_plan_row(item) for run in runs for item in run.planned]
    if fmt == "json":
        return json.dumps(rows, indent=2)
    if fmt == "csv":
        flat = [
            {**r, "invoices": json.dumps(r["invoices"]), "payments": json.dumps(r["payments"])}
            for r in rows
        ]
        return render(flat, DRY_COLUMNS, "csv")
    blocks = []
    for row in (r for r in rows if r["state"] == "ready"):
        blocks.append(
            f"== {row['connection']} {row['settlement']} ({row['settlement_id']}): "
            f"{row['type']}, net {row['net']} {row['currency']}"
        )
        blocks += [f"PUT /Invoices\n{json.dumps({'Invoices': row['invoices']}, indent=2)}"]
        if row["payments"]:
            blocks += [f"PUT /Payments\n{json.dumps({'Payments': row['payments']}, indent=2)}"]
    held = [r for r in rows if r["state"] == "on_hold"]
    blocks.append(f"on hold ({len(held)}):\n{render(held, HELD_COLUMNS, 'table')}")
    ready = len(rows) - len(held)
    blocks.append(f"{ready} ready to post, {len(held)} on hold; nothing was sent (dry run)")
    return "\n".join(blocks)


# -- unpost --------------------------------------------------------------------------------------


@click.command()
@click.argument("settlement")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def unpost(app: AppContext, settlement: str, yes: bool) -> None:
    """Void a settlement's posting in the ledger (payments deleted, invoices voided)."""
    if not yes:
        click.confirm(
            f"Delete the payments and void the invoices of settlement {settlement} in the ledger?",
            abort=True,
        )
    rt = app.runtime()
    done = _user_errors(
        lambda: unposting.unpost(rt, settlement, progress=lambda line: click.echo(line, err=True))
    )
    references = ", ".join(str(o["reference"]) for o in done.voided) or "nothing"
    click.echo(
        f"settlement {done.provider_settlement_id}: voided {references}; deleted "
        f"{done.payments_deleted} payments. `workbench post --settlement {done.settlement_id}` "
        f"posts it again"
    )


# -- accounts ------------------------------------------------------------------------------------


def _one_workspace(app: AppContext, ref: str | None) -> str:
    if ref:
        return app.store.workspace(ref).id
    spaces = app.store.workspaces()
    if len(spaces) != 1:
        raise UserError("choose a workspace with --workspace (there is not exactly one)")
    return spaces[0].id


@click.group(invoke_without_command=True)
@click.option("--workspace", "workspace_ref", default=None, help="The workspace.")
@format_option
@click.pass_context
def accounts(ctx: click.Context, workspace_ref: str | None, fmt: Format) -> None:
    """The ledger account of each line category per provider (defaults where unset)."""
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.find_object(AppContext)
    assert app is not None
    workspace_id = _one_workspace(app, workspace_ref)
    with app.store.read() as con:
        rows = [{"workspace": workspace_id, **vars(row)} for row in account_rows(con, workspace_id)]
    click.echo(render(rows, ACCOUNT_COLUMNS, fmt))


@accounts.command("set")
@click.argument("category")
@click.argument("code")
@click.option("--provider", "provider_name", required=True, help="The channel, such as amazon.")
@click.option("--workspace", "workspace_ref", default=None, help="The workspace.")
@pass_app
def accounts_set(
    app: AppContext, category: str, code: str, provider_name: str, workspace_ref: str | None
) -> None:
    """Post CATEGORY (or `clearing`) of a provider's settlements to account CODE."""
    if provider(provider_name).kind != "channel":
        raise UserError(f"{provider_name} is a ledger; map the accounts of a channel")
    workspace_id = _one_workspace(app, workspace_ref)
    with app.store.read() as con:
        row = _user_errors(
            lambda: set_account(
                con, workspace_id, provider_name, category, code, at=app.clock.now()
            )
        )
    click.echo(f"{workspace_id}: {row.provider} {row.category} -> account {row.account_code}")
