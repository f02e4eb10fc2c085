"""Overview: what is broken, what is missing, and what to do about it."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from workbench import services, ui

PAGES = Path(__file__).parent

st.title("Overview")
workspace_id = ui.require_workspace()

with ui.reported("read the workspace"):
    status = services.connection_status(workspace_id)
    if status.is_empty():
        st.info(
            "This workspace has no connections yet: add a channel and a ledger on the "
            "Connections page (or with `workbench connect`)."
        )
        st.page_link(PAGES / "connections.py", label="Add a connection", icon=":material/add_link:")
        st.stop()
    summary = services.overview(workspace_id)

    for broken in summary.disconnected:
        st.warning(
            f"**{broken['name']} is disconnected**: {broken['reason']}. Settlements stop "
            "arriving until it is reconnected.",
            icon=":material/link_off:",
        )
        ui.reconnect_action(broken["id"], broken["name"], broken["provider"], key=broken["id"])

    figures = st.columns(4)
    figures[0].metric("Missing settlements", summary.missing_settlements)
    figures[1].metric("Unposted", summary.unposted)
    figures[2].metric("On hold", summary.on_hold)
    figures[3].metric("Duplicate postings", summary.duplicates)
    at_risk = summary.at_risk_figures()
    for column, (label, amount) in zip(st.columns(max(len(at_risk), 1)), at_risk, strict=False):
        column.metric(label, amount)

    st.subheader("What to do next")
    if not summary.steps:
        st.success("Nothing to do: every expected settlement is here and posted once.")
    for step in summary.steps:
        st.page_link(PAGES / step.page, label=step.text, icon=":material/arrow_forward:")

    st.subheader("Connections")
    st.dataframe(
        status.select("name", "provider", "status", "status_reason", "last_sync_at"),
        hide_index=True,
        key="connections_table",
        column_config={
            "status_reason": "reason",
            "last_sync_at": st.column_config.DatetimeColumn(
                "last successful sync", format="YYYY-MM-DD HH:mm"
            ),
        },
    )
