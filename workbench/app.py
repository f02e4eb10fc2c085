"""The Streamlit entry point: page set-up, the cross-page workspace choice, navigation."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from workbench import services

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="Reconciliation Workbench", layout="wide")

choices = services.workspaces()
if choices:
    names = {w.id: f"{w.name} ({w.base_currency})" for w in choices}
    st.sidebar.selectbox(
        "Workspace", list(names), format_func=names.__getitem__, key="workspace_id"
    )

navigation = st.navigation([st.Page(PAGES / "overview.py", title="Overview", default=True)])
navigation.run()
