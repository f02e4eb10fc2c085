"""The Streamlit entry point: page set-up, the cross-page workspace choice, navigation.

It also receives the answer of a provider's consent page (the redirect back from a connect or
reconnect), whichever page it lands on, and finishes that flow before the page renders.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from workbench import services, ui

PAGES = Path(__file__).parent / "pages"

st.set_page_config(
    page_title="Reconciliation Workbench", page_icon=":material/balance:", layout="wide"
)

choices = services.workspaces()
if choices:
    names = {w.id: f"{w.name} ({w.base_currency})" for w in choices}
    st.sidebar.selectbox(
        "Workspace", list(names), format_func=names.__getitem__, key=ui.WORKSPACE_KEY
    )
ui.demo_note()

navigation = st.navigation(
    [
        st.Page(PAGES / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page(PAGES / "connections.py", title="Connections", icon=":material/link:"),
        st.Page(PAGES / "health.py", title="Health", icon=":material/monitor_heart:"),
        st.Page(PAGES / "gaps.py", title="Gaps", icon=":material/report:"),
        st.Page(PAGES / "post.py", title="Post", icon=":material/send:"),
        st.Page(PAGES / "settlements.py", title="Settlements", icon=":material/receipt_long:"),
        st.Page(PAGES / "notebook.py", title="Notebook", icon=":material/code_blocks:"),
    ]
)

params = dict(st.query_params)
if services.is_consent_callback(params):
    st.query_params.clear()
    with ui.reported("finish connecting"):
        connection = services.complete_consent(params)
        st.success(
            f"{connection.name} is connected. Backfill what it missed on the Gaps page, then post."
        )
        st.page_link(PAGES / "gaps.py", label="Go to Gaps", icon=":material/report:")

navigation.run()
