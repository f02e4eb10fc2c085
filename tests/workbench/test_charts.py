from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
import polars as pl
import pytest

from reconcile.gaps import find_gaps
from reconcile.health import flapping, health_intervals
from tests.workbench.conftest import World
from workbench.charts import chartable_columns, gaps_by_connection, health_timeline, quick_chart
from workbench.sync import sync_connection

UTC_US = pl.Datetime("us", "UTC")
MONEY = pl.Decimal(18, 4)
INTERVALS = {
    "connection_id": pl.String,
    "connection": pl.String,
    "provider": pl.String,
    "state": pl.String,
    "start": UTC_US,
    "end": UTC_US,
    "reason": pl.String,
    "error_class": pl.String,
}
EVENTS = {
    "connection_id": pl.String,
    "connection": pl.String,
    "at": UTC_US,
    "kind": pl.String,
    "feed": pl.String,
    "error_class": pl.String,
    "http_status": pl.Int32,
    "request_id": pl.String,
    "detail": pl.String,
    "counts": pl.String,
}
SETTLEMENTS = {
    "connection": pl.String,
    "provider_settlement_id": pl.String,
    "period_start": UTC_US,
    "period_end": UTC_US,
    "deposit_date": pl.Date,
    "currency": pl.String,
    "net": MONEY,
    "posting_status": pl.String,
}
GAPS = {
    "id": pl.String,
    "kind": pl.String,
    "connection_id": pl.String,
    "connection": pl.String,
    "provider": pl.String,
    "start": UTC_US,
    "end": UTC_US,
    "expected_settlements": pl.Int64,
    "estimate": pl.List(pl.Struct({"currency": pl.String, "amount": MONEY})),
    "cause": pl.String,
    "recoverable": pl.Boolean,
    "manual_step": pl.String,
}
FLAPPING = {
    "connection_id": pl.String,
    "connection": pl.String,
    "provider": pl.String,
    "disconnects": pl.Int64,
    "start": UTC_US,
    "end": UTC_US,
}
LO, HI = datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)


def at(day: int, month: int = 9, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def frame(schema: dict[str, Any], *rows: dict[str, Any]) -> pl.DataFrame:
    filled = [{column: row.get(column) for column in schema} for row in rows]
    return pl.DataFrame(filled, schema=schema, orient="row")


def interval(name: str, state: str, start: datetime, end: datetime, **more: Any) -> dict[str, Any]:
    return {"connection": name, "state": state, "start": start, "end": end, **more}


def event(name: str, kind: str, when: datetime, **more: Any) -> dict[str, Any]:
    return {"connection": name, "kind": kind, "at": when, "detail": kind, **more}


def settlement(name: str, ident: str, currency: str, net: str, **more: Any) -> dict[str, Any]:
    period = {
        "period_start": at(1, 10),
        "period_end": at(15, 10),
        "deposit_date": date(2026, 10, 16),
    }
    return {"connection": name, "provider_settlement_id": ident, "currency": currency,
            "net": Decimal(net), "posting_status": "unposted", **period, **more}  # fmt: skip


def gap(name: str, kind: str, start: datetime, end: datetime, **more: Any) -> dict[str, Any]:
    return {"id": f"gap_{kind}", "kind": kind, "connection": name, "start": start, "end": end,
            "estimate": [], "cause": "unknown", **more}  # fmt: skip


NONE = {
    "intervals": frame(INTERVALS),
    "attempts": frame(EVENTS),
    "settlements": frame(SETTLEMENTS),
    "gaps": frame(GAPS),
}


def timeline(
    start: datetime | date = LO, end: datetime | date = HI, **frames: pl.DataFrame | None
) -> go.Figure:
    inputs: dict[str, Any] = {**NONE, **frames}
    return health_timeline(**inputs, start=start, end=end)


def trace(figure: go.Figure, name: str) -> Any:
    [found] = [t for t in figure.data if t.name == name]
    return found


def rows(figure: go.Figure) -> list[str]:
    return list(figure.layout.yaxis.ticktext)


def ms(delta: timedelta) -> float:
    return delta / timedelta(milliseconds=1)


# -- health_timeline ---------------------------------------------------------------------------


def test_each_state_is_one_trace_however_many_bars_in_a_fixed_legend_order() -> None:
    flips = [
        interval("Amazon US", ("disconnected", "connected", "degraded")[i % 3],
                 at(1) + timedelta(hours=i), at(1) + timedelta(hours=i + 1))
        for i in range(300)
    ]  # fmt: skip
    figure = timeline(intervals=frame(INTERVALS, *flips))

    assert [t.name for t in figure.data] == ["connected", "degraded", "disconnected"]
    assert all(t.type == "bar" and t.orientation == "h" for t in figure.data)
    assert sum(len(t.x) for t in figure.data) == 300
    ranks = [t.legendrank for t in figure.data]
    assert ranks == sorted(ranks)
    colours = {t.name: t.marker.color for t in figure.data}
    assert len(set(colours.values())) == 3
    assert trace(figure, "disconnected").marker.pattern.shape == "x"


def test_a_state_bar_hovers_its_iso_times_duration_reason_and_error_class() -> None:
    down = interval("Amazon US", "disconnected", at(1, hour=10), at(22, hour=8),
                    reason="auth: grant revoked", error_class="auth")  # fmt: skip
    figure = timeline(intervals=frame(INTERVALS, down))

    [hover] = trace(figure, "disconnected").hovertext
    assert "2026-09-01 10:00 UTC to 2026-09-22 08:00 UTC (20 d 22 h)" in hover
    assert "reason: auth: grant revoked" in hover
    assert "error class: auth" in hover


def test_one_row_per_connection_including_a_ledger_connection_known_only_by_its_gap() -> None:
    figure = timeline(
        intervals=frame(INTERVALS, interval("Amazon US", "connected", at(1), at(30))),
        gaps=frame(GAPS, gap("Xero", "duplicate_posting", at(3), at(4))),
    )

    assert rows(figure) == ["Amazon US", "Xero"]
    assert list(figure.layout.yaxis.tickvals) == [0, 1]
    assert list(trace(figure, "gap: duplicate_posting").y) == [1.0]
    assert figure.layout.yaxis.range == (1.5, -0.5)  # first connection on top


def test_sync_ticks_tell_success_from_failure_by_shape_colour_and_hover() -> None:
    attempts = frame(
        EVENTS,
        event("Amazon US", "sync_started", at(2)),
        event("Amazon US", "sync_succeeded", at(2)),
        event("Amazon US", "sync_failed", at(3), error_class="transient", http_status=503,
              detail="Amazon answered 503 <Service Unavailable>"),
        event("Amazon US", "revoked", at(4), error_class="auth"),
    )  # fmt: skip
    figure = timeline(attempts=attempts)

    ok, failed = trace(figure, "sync succeeded"), trace(figure, "sync failed")
    assert [t.name for t in figure.data] == ["sync succeeded", "sync failed"]
    assert ok.marker.symbol != failed.marker.symbol
    assert ok.marker.color != failed.marker.color
    [hover] = failed.hovertext
    assert "sync failed" in hover
    assert "2026-09-03 00:00 UTC" in hover
    assert "error class: transient" in hover
    assert "HTTP status: 503" in hover
    assert "Amazon answered 503 &lt;Service Unavailable&gt;" in hover


def test_settlement_hover_formats_net_in_the_currency_exponent() -> None:
    settlements = frame(
        SETTLEMENTS,
        settlement("Amazon JP", "JP-1", "JPY", "1200.0000"),
        settlement("Amazon KW", "KW-1", "KWD", "1.2500"),
        settlement("Amazon US", "US-1", "USD", "416.7000", posting_status="posted"),
    )
    figure = timeline(settlements=settlements)

    unposted, posted = trace(figure, "settlement unposted"), trace(figure, "settlement posted")
    assert "net: JPY 1200<br>" in unposted.hovertext[0]
    assert "net: KWD 1.250<br>" in unposted.hovertext[1]
    assert "net: USD 416.70<br>" in posted.hovertext[0]
    assert "Settlement JP-1" in unposted.hovertext[0]
    assert "posting: unposted" in unposted.hovertext[0]
    assert "deposit date: 2026-10-16" in unposted.hovertext[0]


def test_a_settlement_is_marked_at_its_period_end_and_an_open_one_hollow_at_its_start() -> None:
    settlements = frame(
        SETTLEMENTS,
        settlement("Amazon US", "closed", "USD", "1.0000"),
        settlement("Amazon US", "open", "USD", "0.0000", period_start=at(15, 10), period_end=None),
    )
    marks = trace(timeline(settlements=settlements), "settlement unposted")

    assert [str(x)[:10] for x in marks.x] == ["2026-10-15", "2026-10-15"]
    assert list(marks.marker.symbol) == ["diamond", "diamond-open"]
    assert "to open" in marks.hovertext[1]
    assert all(y < 0 for y in marks.y)  # above the bars of row 0


def test_gap_windows_are_shaded_behind_the_bars_with_cause_estimate_and_recoverability() -> None:
    lost = gap("Amazon US", "coverage", at(5), at(26), expected_settlements=2, recoverable=False,
               estimate=[{"currency": "USD", "amount": Decimal("658.8500")},
                         {"currency": "JPY", "amount": Decimal("1200.0000")}],
               cause="disconnected 2026-09-05 10:00 to 2026-09-26 08:00 (auth: grant revoked)",
               manual_step="upload the settlement report file")  # fmt: skip
    figure = timeline(
        intervals=frame(INTERVALS, interval("Amazon US", "connected", at(1), at(30))),
        gaps=frame(GAPS, lost),
    )

    shade = figure.data[0]
    assert shade.name == "gap: coverage"
    assert shade.opacity < 1
    assert shade.width > trace(figure, "connected").width
    [hover] = shade.hovertext
    assert "expected settlements: 2" in hover
    assert "estimate: USD 658.85; JPY 1200" in hover
    assert "cause: disconnected 2026-09-05 10:00 to 2026-09-26 08:00 (auth: grant revoked)" in hover
    assert "recoverable: no: upload the settlement report file" in hover


def test_everything_is_clipped_to_the_date_range() -> None:
    start, end = datetime(2026, 9, 10, tzinfo=UTC), date(2026, 9, 19)
    figure = timeline(
        intervals=frame(INTERVALS, interval("Amazon US", "connected", at(1), at(30))),
        attempts=frame(EVENTS, *(event("Amazon US", "sync_succeeded", at(d)) for d in (5, 15, 25))),
        gaps=frame(GAPS, gap("Amazon US", "overdue", at(18), at(28))),
        start=start,
        end=end,  # a date: its whole day is in range
    )

    lo, hi = datetime(2026, 9, 10), datetime(2026, 9, 20)
    assert figure.layout.xaxis.range == (lo, hi)
    bar = trace(figure, "connected")
    assert bar.base[0] == lo
    assert bar.x[0] == ms(hi - lo)
    assert "2026-09-01 00:00 UTC to 2026-09-30 00:00 UTC" in bar.hovertext[0]  # the true times
    assert [str(x)[:10] for x in trace(figure, "sync succeeded").x] == ["2026-09-15"]
    shade = trace(figure, "gap: overdue")
    assert shade.base[0] == datetime(2026, 9, 18)
    assert shade.x[0] == ms(timedelta(days=2))


def test_a_range_given_in_another_time_zone_is_read_as_the_same_instant() -> None:
    paris_summer = timezone(timedelta(hours=2))
    figure = timeline(
        intervals=frame(INTERVALS, interval("Amazon US", "connected", at(1), at(30))),
        start=datetime(2026, 9, 10, 4, tzinfo=paris_summer),
        end=HI,
    )

    assert figure.layout.xaxis.range[0] == datetime(2026, 9, 10, 2)
    assert trace(figure, "connected").base[0] == datetime(2026, 9, 10, 2)


def test_a_fresh_zero_length_disconnect_is_still_drawn_and_hovers_its_true_times() -> None:
    now = at(30, hour=9)
    intervals = frame(
        INTERVALS,
        interval("Amazon US", "connected", at(1), now),
        interval("Amazon US", "disconnected", now, now, error_class="auth"),
    )
    figure = timeline(intervals=intervals, end=now)

    down = trace(figure, "disconnected")
    assert down.x[0] > 0
    assert down.base[0] + timedelta(milliseconds=down.x[0]) <= datetime(2026, 9, 30, 9)
    assert "(0 min)" in down.hovertext[0]


def test_flapping_is_outlined_and_labelled_only_when_a_connection_flaps() -> None:
    intervals = frame(INTERVALS, interval("Amazon US", "connected", at(1), at(30)))
    flaps = frame(FLAPPING, {"connection": "Amazon US", "disconnects": 4, "start": at(3, hour=6),
                             "end": at(8, hour=18)})  # fmt: skip

    called_out = timeline(intervals=intervals, flapping=flaps)
    calm = timeline(intervals=intervals, flapping=frame(FLAPPING))
    unknown = timeline(intervals=intervals, flapping=None)

    [note] = called_out.layout.annotations
    assert "flapping: 4 disconnects in 6 days" in note.text
    [box] = called_out.layout.shapes
    assert (box.x0, box.x1) == (datetime(2026, 9, 3, 6), datetime(2026, 9, 8, 18))
    assert box.line.dash == "dash"
    for quiet in (calm, unknown):
        assert not quiet.layout.annotations
        assert not quiet.layout.shapes


def test_no_data_gives_an_empty_figure_that_says_there_is_nothing_to_show() -> None:
    empty = timeline()
    elsewhere = timeline(
        intervals=frame(INTERVALS, interval("Amazon US", "connected", at(1, 1), at(2, 1))),
    )

    for figure in (empty, elsewhere):
        assert not figure.data
        [note] = figure.layout.annotations
        assert note.text.startswith("Nothing to show from 2026-09-01 00:00 to 2026-11-01 00:00 UTC")
        assert (note.x, note.y, note.xref) == (0.5, 0.5, "paper")


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (datetime(2026, 9, 1), HI, "start must be a timezone-aware datetime or a date"),
        (HI, LO, "pick an end after the start"),
    ],
)
def test_a_bad_range_is_refused_with_what_to_do(start: Any, end: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        timeline(start=start, end=end)


def test_the_timeline_serialises_for_the_browser() -> None:
    figure = timeline(
        intervals=frame(INTERVALS, interval("Amazon US", "connected", at(1), at(30))),
        settlements=frame(SETTLEMENTS, settlement("Amazon US", "S-1", "USD", "416.7000")),
        gaps=frame(GAPS, gap("Amazon US", "coverage", at(5), at(9))),
    )

    text = figure.to_json()
    assert "Decimal" not in text
    assert "2026-09-01T00:00:00" in text


# -- the timeline of a real broken connection ---------------------------------------------------


def test_a_revoked_grant_shows_as_a_disconnected_bar_and_a_failed_sync_tick(world: World) -> None:
    connection = world.amazon_connection()
    sync_connection(world.rt, connection)
    world.amazon.revoke()
    world.clock.advance(timedelta(days=30))
    sync_connection(world.rt, connection)
    world.clock.advance(timedelta(days=2))
    now = world.clock.now()
    with world.store.read() as con:
        intervals = health_intervals(con, world.workspace_id, now)
        gaps = find_gaps(con, world.workspace_id, now)
    figure = health_timeline(
        intervals,
        world.store.events(workspace_id=world.workspace_id),
        world.store.settlements(world.workspace_id),
        gaps,
        start=now - timedelta(days=90),
        end=now,
        flapping=flapping(intervals),
    )

    assert rows(figure) == ["Amazon US"]
    down = trace(figure, "disconnected")
    assert down.x[0] == ms(timedelta(days=2))
    assert "error class: auth" in down.hovertext[0]
    [failed] = trace(figure, "sync failed").hovertext
    assert "HTTP status: 400" in failed
    assert "error class: auth" in failed
    assert len(trace(figure, "sync succeeded").x) == 1
    assert len(trace(figure, "settlement unposted").x) >= 5
    assert any(t.name.startswith("gap: ") for t in figure.data)
    assert not figure.layout.annotations


# -- quick_chart -------------------------------------------------------------------------------

RESULT = pl.DataFrame(
    {
        "month": [date(2026, 3, 1), date(2026, 1, 1), date(2026, 2, 1), date(2026, 1, 1)],
        "channel": ["Amazon US", "Amazon US", "Amazon US", "Amazon UK"],
        "net": [Decimal("30.1000"), Decimal("10.0500"), Decimal("20.0000"), Decimal("5.0000")],
        "settlements": [3, 1, 2, 1],
        "opened": [at(1, 1), at(1, 2), at(1, 3), at(1, 4)],
        "closed": [at(14, 1), at(14, 2), None, at(14, 4)],
        "flags": [[1], [2], [3], [4]],
    },
    schema_overrides={"net": MONEY, "opened": UTC_US, "closed": UTC_US},
)


def test_chartable_columns_offer_each_role_only_sensible_columns() -> None:
    assert chartable_columns(RESULT) == {
        "line.x": ["month", "net", "settlements", "opened", "closed"],
        "line.y": ["net", "settlements"],
        "bar.x": ["month", "channel", "net", "settlements", "opened", "closed"],
        "bar.y": ["net", "settlements"],
        "timeline.x": ["month", "opened", "closed"],
        "timeline.y": ["month", "opened", "closed"],
        "color": ["channel", "settlements"],
    }


def test_a_line_chart_plots_decimals_as_numbers_in_x_order_and_hovers_them_exactly() -> None:
    figure = quick_chart(RESULT.filter(pl.col("channel") == "Amazon US"), "line", "month", "net")

    [line] = figure.data
    assert line.mode == "lines+markers"
    assert [str(x) for x in line.x] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert list(line.y) == [10.05, 20.0, 30.1]
    assert list(line.customdata) == ["10.0500", "20.0000", "30.1000"]
    assert "Decimal" not in figure.to_json()


def test_a_bar_chart_splits_into_one_series_per_color_value() -> None:
    figure = quick_chart(RESULT, "bar", "month", "settlements", color="channel")

    assert [t.name for t in figure.data] == ["Amazon US", "Amazon UK"]
    assert all(t.type == "bar" for t in figure.data)
    assert list(figure.data[0].y) == [3, 1, 2]
    assert figure.layout.showlegend is True


def test_a_timeline_draws_one_bar_per_row_and_notes_the_rows_it_cannot_place() -> None:
    figure = quick_chart(RESULT, "timeline", "opened", "closed", color="channel")

    [bars] = figure.data
    assert list(bars.y) == ["Amazon US", "Amazon US", "Amazon UK"]
    assert bars.base[0] == datetime(2026, 1, 1)
    assert bars.x[0] == ms(timedelta(days=13))
    assert "2026-01-01 00:00 UTC to 2026-01-14 00:00 UTC (13 d 0 h)" in bars.hovertext[0]
    assert figure.layout.xaxis.title.text == "opened to closed (UTC)"
    [note] = figure.layout.annotations
    assert note.text.startswith("1 rows without a start and end")


@pytest.mark.parametrize(
    ("kind", "x", "y", "color", "message"),
    [
        ("pie", "month", "net", None, "chart kind 'pie' is unknown: pick one of line, bar,"),
        ("line", "mnth", "net", None, "column 'mnth' is not in the result: pick an x column"),
        ("line", "channel", "net", None, "column 'channel' is not a number or a date/time"),
        ("bar", "month", "channel", None, "column 'channel' is not a number: pick a y column"),
        ("timeline", "net", "closed", "channel",
         "column 'net' is not a date/time: pick a start column for a timeline "
         r"\(one of month, opened, closed\)"),
        ("timeline", "opened", "net", "channel", "column 'net' is not a date/time: pick an end"),
        ("timeline", "opened", "closed", None, "a timeline needs a row label: pick a color column"),
        ("bar", "month", "net", "flags", "column 'flags' is not a label"),
        ("bar", "channel", "net", "net", "column 'net' is not a label"),
    ],
)  # fmt: skip
def test_an_unsuitable_choice_is_refused_with_what_to_pick_instead(
    kind: str, x: str, y: str, color: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        quick_chart(RESULT, kind, x, y, color)


def test_too_many_series_are_refused_before_plotting() -> None:
    many = pl.DataFrame({"day": list(range(30)), "amount": list(range(30)), "id": list(range(30))})

    with pytest.raises(ValueError, match="column 'id' has 30 distinct values: pick a column"):
        quick_chart(many, "line", "day", "amount", color="id")


def test_an_empty_result_charts_as_nothing_to_show() -> None:
    figure = quick_chart(RESULT.clear(), "bar", "channel", "net")

    assert not figure.data
    assert figure.layout.annotations[0].text == "The result has no rows to chart."


# -- gaps_by_connection ------------------------------------------------------------------------


def test_gaps_are_counted_per_connection_and_kind() -> None:
    gaps = frame(
        GAPS,
        gap("Amazon US", "coverage", at(1), at(5)),
        gap("Amazon US", "coverage", at(9), at(12)),
        gap("Amazon US", "overdue", at(20), at(29)),
        gap("Xero", "duplicate_posting", at(3), at(4)),
    )
    figure = gaps_by_connection(gaps)

    counts = {(t.name, y): x for t in figure.data for y, x in zip(t.y, t.x, strict=True)}
    assert counts == {
        ("coverage", "Amazon US"): 2,
        ("overdue", "Amazon US"): 1,
        ("duplicate_posting", "Xero"): 1,
    }
    assert figure.layout.barmode == "stack"
    assert "No gaps" in gaps_by_connection(frame(GAPS)).layout.annotations[0].text
