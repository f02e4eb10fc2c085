"""Health: each connection's states over time, its sync attempts, settlements and gaps."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from workbench import charts, services, tables, ui

st.title("Health")
workspace_id = ui.require_workspace()

with ui.reported("draw the health timeline"):
    health = services.health(workspace_id)
    if health.intervals.is_empty():
        st.info("No connection history yet: connect a channel and sync it, then come back.")
        st.stop()
    today = services.now().date()
    first = health.first_day()
    chosen = st.date_input(
        "Date range",
        value=(max(first, today - timedelta(days=365)), today),
        min_value=first,
        max_value=today,
        format="YYYY-MM-DD",
        key="health_range",
    )
    start, end = ui.date_range(chosen, first, today)
    for row in health.flapping.iter_rows(named=True):
        st.warning(
            f"**{row['connection']} is flapping**: {row['disconnects']} disconnects between "
            f"{tables.iso(row['start'])} and {tables.iso(row['end'])}. Check who owns the "
            "grant, the app's permissions and password changes on that account.",
            icon=":material/sync_problem:",
        )
    figure = charts.health_timeline(
        health.intervals,
        health.attempts,
        health.settlements,
        health.gaps,
        start=ui.day_start(start),
        end=ui.day_start(end + timedelta(days=1)),
        flapping=health.flapping,
    )
    st.plotly_chart(figure, key="health_chart", config={"displaylogo": False})
    st.caption(
        "Bars: the connection's state. Ticks: sync attempts (a cross is a failed one). "
        "Dots: settlements at their period end. Shaded: gaps. Hover for the details."
    )
