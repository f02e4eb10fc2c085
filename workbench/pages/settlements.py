"""Settlements: filter, browse a settlement's lines, download as CSV."""

from __future__ import annotations

import polars as pl
import streamlit as st

from workbench import services, tables, ui

st.title("Settlements")
workspace_id = ui.require_workspace()

with ui.reported("read the settlements"):
    settlements = services.settlements(workspace_id)
    if settlements.is_empty():
        st.info(
            "No settlements yet: sync a channel on the Connections page, or import a "
            "settlement file on the Gaps page."
        )
        st.stop()
    left, middle, right = st.columns(3)
    connections = left.multiselect(
        "Connection", sorted(settlements["connection"].unique()), key="settlement_connections"
    )
    currencies = middle.multiselect(
        "Currency", sorted(settlements["currency"].unique()), key="settlement_currencies"
    )
    postings = right.multiselect(
        "Posting", sorted(settlements["posting_status"].unique()), key="settlement_postings"
    )
    shown = settlements
    for column, chosen in (
        ("connection", connections),
        ("currency", currencies),
        ("posting_status", postings),
    ):
        if chosen:
            shown = shown.filter(pl.col(column).is_in(chosen))
    table = tables.settlement_table(shown)
    st.caption(f"{table.height} of {settlements.height} settlements")
    st.dataframe(table.drop("id"), hide_index=True, key="settlement_table")
    st.download_button(
        "Download as CSV",
        shown.write_csv(),
        file_name=f"settlements-{workspace_id}.csv",
        mime="text/csv",
        key="settlements_csv",
    )

    if table.height:
        labels = dict(
            zip(table["id"], table["connection"] + " " + table["settlement"], strict=True)
        )
        picked = st.selectbox(
            "Lines of", list(labels), format_func=labels.__getitem__, key="lines_of"
        )
        lines = services.settlement_lines(picked)
        st.dataframe(lines, hide_index=True, key="lines_table")
        st.download_button(
            "Download these lines as CSV",
            lines.write_csv(),
            file_name=f"settlement-{picked}.csv",
            mime="text/csv",
            key="lines_csv",
        )
