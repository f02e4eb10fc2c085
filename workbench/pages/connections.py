"""Connections: each one's state, and adding, reconnecting, pausing, disconnecting, removing."""

from __future__ import annotations

import streamlit as st

from workbench import connection_form, services, ui
from workbench.managing import PAUSE_EFFECTS

st.title("Connections")
workspace_id = ui.require_workspace()

with ui.reported("read the connections"):
    status = services.connection_status(workspace_id)
    if status.is_empty():
        st.info("No connections yet: add a sales channel and a ledger below.")
    else:
        st.dataframe(
            status.select(
                "name", "provider", "status", "status_reason", "last_sync_at", "grant_expires_at"
            ),
            hide_index=True,
            key="connections_status",
            column_config={
                "status_reason": "reason",
                "last_sync_at": st.column_config.DatetimeColumn(
                    "last successful sync", format="YYYY-MM-DD HH:mm"
                ),
                "grant_expires_at": st.column_config.DatetimeColumn(
                    "next known expiry", format="YYYY-MM-DD"
                ),
            },
        )

    for row in status.iter_rows(named=True):
        connection_id, name = row["id"], row["name"]
        with st.expander(f"{name}: {row['status']}", expanded=row["status"] == "disconnected"):
            if row["status_reason"]:
                st.caption(row["status_reason"])
            left, right = st.columns(2)
            with left:
                ui.reconnect_action(connection_id, name, row["provider"], key=f"c-{connection_id}")
                if st.button("Sync now", key=f"sync-{connection_id}"):
                    with ui.reported(f"sync {name}"), st.spinner(f"Syncing {name}"):
                        results = services.sync_now(connection_id)
                        st.success("; ".join(ui.sync_summary(result) for result in results))
            with right:
                for feed in services.feeds(connection_id):
                    label = f"Resume {feed.name}" if feed.paused else f"Pause {feed.name}"
                    if not feed.paused:
                        st.caption(" ".join(PAUSE_EFFECTS))
                    if st.button(label, key=f"pause-{connection_id}-{feed.name}"):
                        with ui.reported(label.lower()):
                            services.set_paused(connection_id, feed.name, not feed.paused)
                            st.rerun()
                sure = st.checkbox(
                    f"I understand: {name} stops syncing until it is reconnected",
                    key=f"sure-{connection_id}",
                )
                if st.button("Disconnect", key=f"disconnect-{connection_id}", disabled=not sure):
                    with ui.reported(f"disconnect {name}"):
                        services.disconnect(connection_id)
                        st.rerun()
                typed = st.text_input(
                    f"Type {name} to remove it (its settlements and history stay)",
                    key=f"remove-name-{connection_id}",
                )
                if st.button("Remove", key=f"remove-{connection_id}", disabled=typed != name):
                    with ui.reported(f"remove {name}"):
                        services.remove(connection_id)
                        st.rerun()

st.subheader("Add a connection")
connection_form.wizard(workspace_id)
