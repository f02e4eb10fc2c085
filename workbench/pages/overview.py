"""Overview: every connection's status and what it has delivered."""

from __future__ import annotations

import streamlit as st

from workbench import services

st.title("Overview")

workspace_id = st.session_state.get("workspace_id")
if workspace_id is None:
    st.info("No workspace yet. Create one and connect a channel from the command line:")
    st.code(
        'workbench workspace add "Acme Ltd" --currency GBP\n'
        'workbench connect amazon --workspace "Acme Ltd" --name "Amazon US" '
        "--region na --marketplace US --client-id ... --client-secret-env VAR "
        "--refresh-token-env VAR",
        language="bash",
    )
    st.caption(f"Database: {services.database_path()}")
    st.stop()

status = services.connection_status(workspace_id)
if status.is_empty():
    st.info("This workspace has no connections yet: run `workbench connect` to add one.")
    st.stop()

for row in status.filter(status["status"] == "disconnected").iter_rows(named=True):
    st.warning(
        f"**{row['name']}** is disconnected: {row['status_reason']}. "
        f'Reconnect it with `workbench reconnect "{row["name"]}"`.'
    )

st.subheader("Connections")
st.dataframe(
    status.select("name", "provider", "status", "status_reason", "last_sync_at"),
    hide_index=True,
    key="connections_table",
)

settlements = services.settlements(workspace_id)
st.subheader("Settlements")
if settlements.is_empty():
    st.info("No settlements yet: run `workbench sync`.")
else:
    st.dataframe(
        settlements.select(
            "connection",
            "provider_settlement_id",
            "period_start",
            "period_end",
            "deposit_date",
            "currency",
            "net",
            "status",
        ),
        hide_index=True,
        key="settlements_table",
        column_config={"deposit_date": st.column_config.DateColumn(format="YYYY-MM-DD")},
    )
