"""The connection-health timeline, and the helpers every chart builder shares.

Pure: polars frames in, a plotly Figure out. Time runs along x in UTC (plotly has no time
zones, so aware timestamps become naive UTC and the axis says so); each connection has one
row on y, first connection at the top. Within a row: gap windows (translucent, wider than
the bars, behind them), state intervals (bars), settlements (diamonds above the bar) and
sync attempts (ticks below it). Each layer is one trace per state or kind, never one
per bar, so thousands of events stay cheap; hover texts are built column-wise.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from math import ceil
from typing import Any

import plotly.graph_objects as go
import polars as pl

from reconcile.money import format_amount

STAMP = "%Y-%m-%d %H:%M UTC"
STATES = {  # state: (colour, bar pattern); the order is the legend's
    "connected": ("#2e7d32", ""),
    "degraded": ("#f2a900", "/"),
    "expiring": ("#f9d949", "."),
    "disconnected": ("#c62828", "x"),
    "paused": ("#8c8c8c", "-"),
}
SYNC_TICKS = {  # event kind: (legend name, marker symbol, colour, size)
    "sync_succeeded": ("sync succeeded", "line-ns-open", "#1b5e20", 14),
    "sync_failed": ("sync failed", "x-thin-open", "#b71c1c", 11),
}
GAP_COLOURS = {
    "coverage": "#7b3294",
    "overdue": "#e66101",
    "unposted": "#0571b0",
    "amount_mismatch": "#b8860b",
    "duplicate_posting": "#d01c8b",
    "possible_duplicate": "#4dac26",
}
POSTING_COLOURS = {"posted": "#1f3b99", "unposted": "#6a3d9a", "failed": "#b71c1c"}
_OTHER_COLOUR = "#555555"
_MIN_WIDTH = 0.004  # a bar is drawn at least this share of the range wide: a fresh disconnect shows
_SETTLEMENT_LANE = -0.32  # settlements sit above their row's bar (the y axis runs downwards)
_TICK_LANE = 0.34  # and sync attempts below it, where no bar colour hides them
_FLAP_LINE = {"color": "#c62828", "width": 2, "dash": "dash"}
_FLAP_BOX = {
    "type": "rect",
    "layer": "above",
    "line": _FLAP_LINE,
    "fillcolor": "rgba(198,40,40,.08)",
}
_FLAP_NOTE = {"xanchor": "left", "yanchor": "bottom", "showarrow": False, "bgcolor": "white"}


def health_timeline(
    intervals: pl.DataFrame,
    attempts: pl.DataFrame,
    settlements: pl.DataFrame,
    gaps: pl.DataFrame,
    *,
    start: datetime | date,
    end: datetime | date,
    flapping: pl.DataFrame | None = None,
) -> go.Figure:
    """Each connection's health between `start` and `end`, one row per connection.

    `intervals` is a `reconcile.health.health_intervals` frame, `attempts` an `events.sql`
    frame (only sync_succeeded / sync_failed are drawn), `settlements` a `settlements.sql`
    frame, `gaps` a `reconcile.gaps.find_gaps` frame and `flapping` a
    `reconcile.health.flapping` frame (outlined and labelled on its row). Everything is
    clipped to [start, end]; a date `start` means its midnight UTC, a date `end` the end of
    that day. Settlements are marked at their period_end (the instant their coverage
    stops, which is where a coverage gap begins); an open settlement at its period_start,
    hollow. Hover texts show the full, unclipped times.
    """
    lo, hi = utc_range(start, end)
    rows = _rows(intervals, attempts, settlements, gaps, flapping)
    min_ms = (hi - lo) / timedelta(milliseconds=1) * _MIN_WIDTH
    traces = [
        *_gap_bars(_clipped(gaps, lo, hi, min_ms), rows),
        *_state_bars(_clipped(intervals, lo, hi, min_ms), rows),
        *_sync_ticks(_sync_attempts(attempts, lo, hi), rows),
        *_settlement_marks(_settled(settlements, lo, hi), rows),
    ]
    shapes, notes = _flapping_marks(flapping, rows, lo, hi, min_ms)
    if not traces and not shapes:
        return nothing_to_show(
            f"Nothing to show from {lo:%Y-%m-%d %H:%M} to {hi:%Y-%m-%d %H:%M} UTC: no health "
            "intervals, sync attempts, settlements or gaps in this range."
        )
    figure = go.Figure(traces)
    names = sorted(rows, key=rows.__getitem__)
    figure.update_layout(
        barmode="overlay",
        hovermode="closest",
        height=max(260, 110 + 56 * len(rows)),
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        shapes=shapes,
        annotations=notes,
    )
    figure.update_xaxes(type="date", range=[lo, hi], title_text="time (UTC)")
    figure.update_yaxes(
        tickmode="array",
        tickvals=list(range(len(names))),
        ticktext=names,
        range=[len(names) - 0.5, -0.5],
        zeroline=False,
        showgrid=False,
    )
    return figure


# -- shared by every chart builder -------------------------------------------------------------


def nothing_to_show(message: str) -> go.Figure:
    """An empty figure with `message` centred on it and no axes."""
    figure = go.Figure()
    figure.add_annotation(
        text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font_size=14
    )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    figure.update_layout(height=200, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return figure


def utc_range(start: datetime | date, end: datetime | date) -> tuple[datetime, datetime]:
    """[start, end] as naive UTC datetimes; a date end includes its whole day."""
    lo, hi = _naive_utc(start, "start", time.min), _naive_utc(end, "end", time.min)
    if not isinstance(end, datetime):
        hi += timedelta(days=1)
    if hi <= lo:
        stamps = f"{lo:%Y-%m-%d %H:%M} to {hi:%Y-%m-%d %H:%M}"
        raise ValueError(f"the range {stamps} is empty: pick an end after the start")
    return lo, hi


def plain_utc(frame: pl.DataFrame, columns: Iterable[str]) -> pl.DataFrame:
    """`frame` with its aware Datetime `columns` as naive UTC (dates and naive values kept)."""
    zoned = [column for column in columns if _zoned(frame.schema[column])]
    return frame.with_columns(
        pl.col(column).dt.convert_time_zone("UTC").dt.replace_time_zone(None) for column in zoned
    )


def escaped(text: pl.Expr) -> pl.Expr:
    """Free text made safe for plotly's HTML-like hover labels."""
    return (
        text.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
    )


def duration_text(first: pl.Expr, last: pl.Expr) -> pl.Expr:
    """ "3 d 4 h", "2 h 5 min" or "12 min": the time from `first` to `last`."""
    minutes = (last - first).dt.total_minutes()
    days, hours = minutes // 1440, minutes % 1440 // 60
    return (
        pl.when(days > 0)
        .then(pl.format("{} d {} h", days, hours))
        .when(hours > 0)
        .then(pl.format("{} h {} min", hours, minutes % 60))
        .otherwise(pl.format("{} min", minutes))
    )


def _zoned(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.Datetime) and dtype.time_zone is not None


def _naive_utc(value: datetime | date, name: str, at: time) -> datetime:
    if not isinstance(value, datetime):
        return datetime.combine(value, at)
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime or a date, got {value!r}")
    return value.astimezone(UTC).replace(tzinfo=None)


def _stamp(column: str) -> pl.Expr:
    return pl.col(column).dt.strftime(STAMP).fill_null("–")


def _text(column: str) -> pl.Expr:
    return escaped(pl.col(column).cast(pl.String)).fill_null("–")


# -- rows and clipping -------------------------------------------------------------------------


def _rows(*frames: pl.DataFrame | None) -> dict[str, int]:
    """Each connection named in any frame, by name, with its position from the top."""
    names: set[str] = set()
    for frame in frames:
        if frame is not None and not frame.is_empty():
            names.update(frame.get_column("connection").drop_nulls().to_list())
    return {name: index for index, name in enumerate(sorted(names))}


def _clipped(frame: pl.DataFrame, lo: datetime, hi: datetime, min_ms: float) -> pl.DataFrame:
    """Rows of a start/end frame that touch [lo, hi], with the bar's base and width (ms)."""
    if frame.is_empty():
        return frame
    touching = plain_utc(frame, ["start", "end"]).filter(pl.col("start") <= hi, pl.col("end") >= lo)
    first = pl.max_horizontal(pl.col("start"), pl.lit(lo))
    last = pl.min_horizontal(pl.col("end"), pl.lit(hi))
    width = (last - first).dt.total_milliseconds().cast(pl.Float64)
    latest = pl.lit(hi - timedelta(milliseconds=min_ms))
    return touching.with_columns(
        pl.when(width < min_ms)
        .then(pl.min_horizontal(first, latest))
        .otherwise(first)
        .alias("base"),
        pl.max_horizontal(width, pl.lit(min_ms)).alias("width"),
    )


def _row_of(rows: dict[str, int]) -> pl.Expr:
    return pl.col("connection").replace_strict(rows, return_dtype=pl.Float64)


def _bar(frame: pl.DataFrame, rows: dict[str, int], **style: Any) -> go.Bar:
    return go.Bar(
        base=frame.get_column("base").to_numpy(),
        x=frame.get_column("width").to_numpy(),
        y=frame.select(_row_of(rows)).to_series().to_numpy(),
        orientation="h",
        hovertext=frame.get_column("hover").to_numpy(),
        hovertemplate="%{hovertext}<extra></extra>",
        **style,
    )


# -- the layers --------------------------------------------------------------------------------


def _state_bars(intervals: pl.DataFrame, rows: dict[str, int]) -> list[go.Bar]:
    if intervals.is_empty():
        return []
    hover = pl.concat_str(
        pl.format("<b>{}</b>: {}", _text("connection"), pl.col("state")),
        pl.format("{} to {} ({})", _stamp("start"), _stamp("end"),
                  duration_text(pl.col("start"), pl.col("end"))),
        pl.format("reason: {}", _text("reason")),
        pl.format("error class: {}", _text("error_class")),
        separator="<br>",
    )  # fmt: skip
    framed = intervals.with_columns(hover.alias("hover"))
    bars = []
    for rank, (state, (colour, pattern)) in enumerate(STATES.items()):
        chosen = framed.filter(pl.col("state") == state)
        if chosen.height:
            marker = {"color": colour, "pattern": {"shape": pattern}}
            bars.append(
                _bar(chosen, rows, name=state, width=0.5, legendrank=100 + rank, marker=marker)
            )
    return bars


def _gap_bars(gaps: pl.DataFrame, rows: dict[str, int]) -> list[go.Bar]:
    if gaps.is_empty():
        return []
    estimates = [_estimate_text(estimate) for estimate in gaps.get_column("estimate").to_list()]
    recoverable = (
        pl.when(pl.col("recoverable"))
        .then(pl.lit("yes, backfill it"))
        .when(pl.col("recoverable").not_())
        .then(pl.format("no: {}", _text("manual_step")))
        .otherwise(pl.lit("–"))
    )
    hover = pl.concat_str(
        pl.format("<b>{} gap</b>: {}", pl.col("kind"), _text("connection")),
        pl.format("{} to {}", _stamp("start"), _stamp("end")),
        pl.format("expected settlements: {}", _text("expected_settlements")),
        pl.format("estimate: {}", pl.lit(pl.Series(estimates, dtype=pl.String))),
        pl.format("cause: {}", _text("cause")),
        pl.format("recoverable: {}", recoverable),
        separator="<br>",
    )
    framed = gaps.with_columns(hover.alias("hover"))
    return [
        _bar(
            framed.filter(pl.col("kind") == kind),
            rows,
            name=f"gap: {kind}",
            width=0.86,
            opacity=0.3,
            legendrank=300,
            marker={"color": GAP_COLOURS.get(kind, _OTHER_COLOUR)},
        )
        for kind in framed.get_column("kind").unique().sort().to_list()
    ]


def _estimate_text(estimate: list[dict[str, Any]] | None) -> str:
    parts = [
        f"{part['currency']} {format_amount(Decimal(part['amount']), part['currency'])}"
        for part in estimate or []
        if part["amount"] is not None
    ]
    return "; ".join(parts) or "not estimable"


def _sync_attempts(attempts: pl.DataFrame, lo: datetime, hi: datetime) -> pl.DataFrame:
    if attempts.is_empty():
        return attempts
    synced = attempts.filter(pl.col("kind").is_in(list(SYNC_TICKS)))
    return plain_utc(synced, ["at"]).filter(pl.col("at").is_between(lo, hi))


def _sync_ticks(attempts: pl.DataFrame, rows: dict[str, int]) -> list[go.Scatter]:
    if attempts.is_empty():
        return []
    hover = pl.concat_str(
        pl.format("<b>{}</b>: {}", _text("connection"), pl.col("kind").str.replace("_", " ")),
        _stamp("at"),
        pl.format("error class: {}", _text("error_class")),
        pl.format("HTTP status: {}", _text("http_status")),
        escaped(pl.col("detail").str.slice(0, 300)).fill_null(""),
        separator="<br>",
    )
    framed = attempts.with_columns(hover.alias("hover"), _row_of(rows).alias("row"))
    ticks = []
    for rank, (kind, (name, symbol, colour, size)) in enumerate(SYNC_TICKS.items()):
        chosen = framed.filter(pl.col("kind") == kind)
        marker = {"symbol": symbol, "color": colour, "size": size, "line": {"width": 2}}
        if chosen.height:
            ticks.append(
                _points(chosen, "at", _TICK_LANE, name=name, legendrank=200 + rank, marker=marker)
            )
    return ticks


def _points(frame: pl.DataFrame, at: str, lane: float, **style: Any) -> go.Scatter:
    return go.Scatter(
        x=frame.get_column(at).to_numpy(),
        y=(frame.get_column("row") + lane).to_numpy(),
        mode="markers",
        hovertext=frame.get_column("hover").to_numpy(),
        hovertemplate="%{hovertext}<extra></extra>",
        **style,
    )


def _settled(settlements: pl.DataFrame, lo: datetime, hi: datetime) -> pl.DataFrame:
    if settlements.is_empty():
        return settlements
    plain = plain_utc(settlements, ["period_start", "period_end"])
    marked = plain.with_columns(pl.coalesce("period_end", "period_start").alias("mark"))
    return marked.filter(pl.col("mark").is_between(lo, hi))


def _settlement_marks(settlements: pl.DataFrame, rows: dict[str, int]) -> list[go.Scatter]:
    if settlements.is_empty():
        return []
    nets = [
        f"{currency} {format_amount(net, currency)}"
        for net, currency in settlements.select("net", "currency").iter_rows()
    ]
    period_end = pl.col("period_end").dt.strftime(STAMP).fill_null("open")
    hover = pl.concat_str(
        pl.format("<b>Settlement {}</b>: {}", _text("provider_settlement_id"), _text("connection")),
        pl.format("period {} to {}", _stamp("period_start"), period_end),
        pl.format("deposit date: {}", _text("deposit_date")),
        pl.format("net: {}", pl.lit(pl.Series(nets, dtype=pl.String))),
        pl.format("posting: {}", _text("posting_status")),
        separator="<br>",
    )  # fmt: skip
    symbol = pl.when(pl.col("period_end").is_null()).then(pl.lit("diamond-open"))
    framed = settlements.with_columns(
        hover.alias("hover"),
        _row_of(rows).alias("row"),
        symbol.otherwise(pl.lit("diamond")).alias("symbol"),
    )
    marks = []
    for status in framed.get_column("posting_status").unique().sort().to_list():
        chosen = framed.filter(pl.col("posting_status") == status)
        symbols = chosen.get_column("symbol").to_numpy()
        colour = POSTING_COLOURS.get(status, _OTHER_COLOUR)
        marker = {"symbol": symbols, "size": 9, "color": colour}
        name = f"settlement {status}"
        marks.append(_points(chosen, "mark", _SETTLEMENT_LANE, name=name, marker=marker))
    return marks


def _flapping_marks(
    flapping: pl.DataFrame | None,
    rows: dict[str, int],
    lo: datetime,
    hi: datetime,
    min_ms: float,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """An outlined region and a label per flapping connection, clamped into the range."""
    if flapping is None or flapping.is_empty():
        return [], []
    shapes, notes = [], []
    least = timedelta(milliseconds=min_ms)
    for row in plain_utc(flapping, ["start", "end"]).iter_rows(named=True):
        first = min(max(row["start"], lo), hi - least)
        last = max(min(row["end"], hi), first + least)
        days = max(1, ceil((row["end"] - row["start"]) / timedelta(days=1)))
        y = rows[row["connection"]]
        span = f"{days} day" if days == 1 else f"{days} days"
        text = f"⚠ flapping: {row['disconnects']} disconnects in {span}"
        shapes.append(_FLAP_BOX | {"x0": first, "x1": last, "y0": y - 0.48, "y1": y + 0.48})
        note = {"x": first, "y": y - 0.48, "text": text, "font": {"color": _FLAP_LINE["color"]}}
        notes.append(_FLAP_NOTE | note)
    return shapes, notes
