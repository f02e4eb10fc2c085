"""The app's Plotly figures: pure functions of polars frames (AppTest cannot inspect plotly).

`health_timeline` (in `workbench.chart_health`) draws the Health page; `quick_chart` and
`chartable_columns` chart a notebook cell's result; `gaps_by_connection` counts gaps. Money
is Decimal in the frames; it becomes a float only as a plotted coordinate, and every hover
text shows the exact decimal.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import plotly.graph_objects as go
import polars as pl

from workbench.chart_health import (
    GAP_COLOURS,
    STAMP,
    duration_text,
    escaped,
    health_timeline,
    nothing_to_show,
    plain_utc,
)

__all__ = ["chartable_columns", "gaps_by_connection", "health_timeline", "quick_chart"]

ChartKind = Literal["line", "bar", "timeline"]
CHART_KINDS: tuple[str, ...] = get_args(ChartKind)
MAX_SERIES = 20  # colour groups of a line or bar chart
MAX_TIMELINE_ROWS = 200  # row labels of a timeline


def chartable_columns(result: pl.DataFrame) -> dict[str, list[str]]:
    """The columns of `result` that suit each role, in the result's order.

    Keys are "<kind>.x" and "<kind>.y" for each kind of `quick_chart` ("timeline.x" is the
    start, "timeline.y" the end) and "color" (the series or row label).
    """
    sorts = {name: _sort_of(dtype) for name, dtype in result.schema.items()}

    def of(*wanted: str) -> list[str]:
        return [name for name, sort in sorts.items() if sort in wanted]

    return {
        "line.x": of("time", "number"),
        "line.y": of("number"),
        "bar.x": of("time", "number", "label"),
        "bar.y": of("number"),
        "timeline.x": of("time"),
        "timeline.y": of("time"),
        "color": [name for name, dtype in result.schema.items() if _is_label(dtype)],
    }


def quick_chart(
    result: pl.DataFrame, kind: str, x: str, y: str, color: str | None = None
) -> go.Figure:
    """A line, bar or timeline chart of a cell's result.

    line and bar: `x` along the axis, `y` a numeric column, `color` an optional column that
    splits the result into series. timeline: `x` the start and `y` the end column (dates or
    times) and `color` the row label (required); rows without a start or end, or ending
    before they start, are left out and counted in a note. Raises ValueError naming the
    column to choose instead when a column is missing or unsuitable.
    """
    if kind not in CHART_KINDS:
        raise ValueError(f"chart kind {kind!r} is unknown: pick one of {', '.join(CHART_KINDS)}")
    choices = chartable_columns(result)
    _check(result, x, choices[f"{kind}.x"], *_NEEDS[f"{kind}.x"])
    _check(result, y, choices[f"{kind}.y"], *_NEEDS[f"{kind}.y"])
    if color is None and kind == "timeline":
        labels = _listed(choices["color"])
        raise ValueError(f"a timeline needs a row label: pick a color column ({labels})")
    if color is not None:
        _check(result, color, choices["color"], *_NEEDS["color"])
        _check_groups(result, color, MAX_TIMELINE_ROWS if kind == "timeline" else MAX_SERIES)
    if result.is_empty():
        return nothing_to_show("The result has no rows to chart.")
    plain = plain_utc(result, [x, y])
    if kind == "timeline":
        return _timeline(plain, x, y, str(color), _stamp_of(result, x, y))
    return _series_chart(plain, kind, x, y, color, zoned=_zoned_any(result, x, y))


def gaps_by_connection(gaps: pl.DataFrame) -> go.Figure:
    """How many gaps of each kind each connection has: stacked horizontal bars."""
    if gaps.is_empty():
        return nothing_to_show("No gaps: every expected settlement is stored and posted once.")
    counts = gaps.group_by("connection", "kind").len().sort("connection", "kind")
    names = sorted(counts.get_column("connection").unique().to_list())
    figure = go.Figure(
        [
            go.Bar(
                y=part.get_column("connection").to_numpy(),
                x=part.get_column("len").to_numpy(),
                orientation="h",
                name=kind,
                marker_color=GAP_COLOURS.get(kind, "#555555"),
                hovertemplate=f"%{{y}}: %{{x}} {kind} gap(s)<extra></extra>",
            )
            for (kind,), part in counts.group_by(["kind"], maintain_order=True)
        ]
    )
    figure.update_layout(barmode="stack", height=max(220, 90 + 40 * len(names)))
    figure.update_yaxes(categoryorder="array", categoryarray=names, autorange="reversed")
    tallest = max(counts.group_by("connection").agg(pl.col("len").sum())["len"].to_list())
    figure.update_xaxes(title_text="gaps", dtick=1 if tallest <= 10 else None)
    return figure


# -- validation --------------------------------------------------------------------------------

_NEEDS = {  # role: (what its column must be, what to pick)
    "line.x": ("a number or a date/time", "an x column for a line chart"),
    "line.y": ("a number", "a y column for a line chart"),
    "bar.x": ("a text, a number or a date/time", "an x column for a bar chart"),
    "bar.y": ("a number", "a y column for a bar chart"),
    "timeline.x": ("a date/time", "a start column for a timeline"),
    "timeline.y": ("a date/time", "an end column for a timeline"),
    "color": ("a label (text, yes/no or a whole number)", "a color column"),
}


def _sort_of(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime | pl.Date):
        return "time"
    if dtype.is_numeric():
        return "number"
    if _is_label(dtype):
        return "label"
    return "other"


def _is_label(dtype: pl.DataType) -> bool:
    return dtype.is_integer() or isinstance(
        dtype, pl.String | pl.Categorical | pl.Enum | pl.Boolean
    )


def _check(result: pl.DataFrame, column: str, suitable: list[str], must: str, pick: str) -> None:
    if column not in result.columns:
        problem = "is not in the result"
    elif column not in suitable:
        problem = f"is not {must}"
    else:
        return
    raise ValueError(f"column {column!r} {problem}: pick {pick} ({_listed(suitable)})")


def _listed(columns: list[str]) -> str:
    return "one of " + ", ".join(columns) if columns else "the result has none"


def _check_groups(result: pl.DataFrame, column: str, most: int) -> None:
    distinct = result.get_column(column).n_unique()
    if distinct > most:
        limit = f"pick a column with at most {most} for color, or none"
        raise ValueError(f"column {column!r} has {distinct:,} distinct values: {limit}")


def _zoned_any(result: pl.DataFrame, *columns: str) -> bool:
    return any(getattr(result.schema[column], "time_zone", None) for column in columns)


# -- building ----------------------------------------------------------------------------------


def _series_chart(
    result: pl.DataFrame, kind: str, x: str, y: str, color: str | None, *, zoned: bool
) -> go.Figure:
    frame = result.select(*dict.fromkeys([x, y, *([color] if color else [])]))
    if kind == "line":
        frame = frame.drop_nulls(x).sort(x)
    groups = frame.partition_by(color, maintain_order=True) if color else [frame]
    traces = [_series(kind, part, x, y, color) for part in groups]
    figure = go.Figure(traces)
    figure.update_layout(barmode="group", hovermode="closest", showlegend=color is not None)
    figure.update_xaxes(title_text=f"{x} (UTC)" if zoned else x)
    figure.update_yaxes(title_text=y)
    return figure


def _series(kind: str, part: pl.DataFrame, x: str, y: str, color: str | None) -> Any:
    name = str(part.get_column(color)[0]) if color else y
    exact = part.get_column(y).cast(pl.String).fill_null("–").to_numpy()
    style = {
        "x": _plottable(part.get_column(x)).to_numpy(),
        "y": part.get_column(y).cast(pl.Float64).to_numpy(),
        "name": name,
        "customdata": exact,
        "hovertemplate": f"{_html(x)}: %{{x}}<br>{_html(y)}: %{{customdata}}"
        f"<extra>{_html(name)}</extra>",
    }
    if kind == "line":
        return go.Scatter(mode="lines+markers", **style)
    return go.Bar(**style)


def _plottable(values: pl.Series) -> pl.Series:
    """Decimals as floats: plotly places numbers, the hover keeps the exact text."""
    return values.cast(pl.Float64) if isinstance(values.dtype, pl.Decimal) else values


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _stamp_of(result: pl.DataFrame, x: str, y: str) -> str:
    """How the timeline's hover writes its times: dates alone, or with the time (and zone)."""
    if all(isinstance(result.schema[column], pl.Date) for column in (x, y)):
        return "%Y-%m-%d"
    return STAMP if _zoned_any(result, x, y) else "%Y-%m-%d %H:%M"


def _timeline(result: pl.DataFrame, x: str, y: str, label: str, stamp: str) -> go.Figure:
    start, end = pl.col(x).cast(pl.Datetime("us")), pl.col(y).cast(pl.Datetime("us"))
    usable = result.select(start.alias("start"), end.alias("end"), pl.col(label).cast(pl.String))
    kept = usable.filter(pl.col("start") <= pl.col("end"))
    hover = pl.format(
        "<b>{}</b><br>{} to {} ({})",
        escaped(pl.col(label).fill_null("–")),
        pl.col("start").dt.strftime(stamp),
        pl.col("end").dt.strftime(stamp),
        duration_text(pl.col("start"), pl.col("end")),
    )
    kept = kept.with_columns(hover.alias("hover"), pl.col(label).fill_null("–"))
    figure = go.Figure(
        go.Bar(
            base=kept.get_column("start").to_numpy(),
            x=(kept.get_column("end") - kept.get_column("start"))
            .dt.total_milliseconds()
            .to_numpy(),
            y=kept.get_column(label).to_numpy(),
            orientation="h",
            hovertext=kept.get_column("hover").to_numpy(),
            hovertemplate="%{hovertext}<extra></extra>",
            name=label,
        )
    )
    zone = " (UTC)" if stamp == STAMP else ""
    figure.update_xaxes(type="date", title_text=f"{x} to {y}{zone}")
    figure.update_yaxes(autorange="reversed", type="category", title_text=label)
    if left_out := result.height - kept.height:
        note = f"{left_out:,} rows without a start and end (or ending before they start) not shown"
        figure.add_annotation(text=note, xref="paper", yref="paper", x=0, y=1.05, showarrow=False)
    return figure
