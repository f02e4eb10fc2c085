"""Notebook: SQL and Markdown cells over the workspace's analyst views, saved per workspace."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import streamlit as st

from workbench import charts, services, ui
from workbench.notebook import (
    AnalystError,
    CellResult,
    EditorCell,
    NotebookError,
    editor_cells,
    moved,
    positional_name,
    removed,
    saved_cells,
    shown,
)

st.title("Notebook")
workspace_id = ui.require_workspace()
CELLS, RESULTS, SAVED, NOTE = (
    f"nb_{part}_{workspace_id}" for part in ("cells", "results", "saved", "note")
)
FAILURES = (*ui.EXPECTED, AnalystError, NotebookError)


def current() -> list[EditorCell]:
    """The cells with what their widgets hold now."""
    cells = [
        replace(
            cell,
            source=st.session_state.get(f"nb_source_{cell.key}", cell.source),
            name=st.session_state.get(f"nb_name_{cell.key}", cell.name),
        )
        for cell in st.session_state[CELLS]
    ]
    st.session_state[CELLS] = cells
    return cells


def attempt(doing: str, action: Callable[[], str]) -> None:
    """Run a button's action; its outcome (or failure) is shown at the top of the next run."""
    try:
        st.session_state[NOTE] = ("success", action())
    except FAILURES as error:
        st.session_state[NOTE] = ("error", f"Could not {doing}: {error}")
    except Exception as error:
        ui.log.exception("the notebook failed to %s", doing)
        st.session_state[NOTE] = (
            "error",
            f"Could not {doing}: an unexpected {type(error).__name__}.",
        )


def add(kind: Any) -> None:
    st.session_state[CELLS] = [*current(), EditorCell(kind)]


def move(key: str, offset: int) -> None:
    st.session_state[CELLS] = moved(current(), key, offset)


def delete(key: str) -> None:
    st.session_state[CELLS] = removed(current(), key)
    st.session_state[RESULTS].pop(key, None)


def run(key: str | None) -> None:
    cells = current()
    only = None if key is None else [cell.key for cell in cells].index(key)

    def action() -> str:
        found = services.run_notebook(workspace_id, saved_cells(cells), only)
        st.session_state[RESULTS] |= {cells[index].key: result for index, result in found.items()}
        failed = sum(not result.ok for result in found.values())
        return f"Ran {len(found)} cell{'s' * (len(found) != 1)}; {failed} failed."

    attempt("run the notebook", action)


def save() -> None:
    cells = saved_cells(current())

    def action() -> str:
        services.save_notebook(workspace_id, cells)
        st.session_state[SAVED] = cells
        return f"Saved {len(cells)} cells."

    attempt("save the notebook", action)


def load_imported(data: bytes) -> None:
    def action() -> str:
        cells = services.import_notebook(workspace_id, data)
        st.session_state[CELLS] = editor_cells(cells)
        st.session_state[SAVED], st.session_state[RESULTS] = cells, {}
        return f"Imported and saved {len(cells)} cells; run them to see their results."

    attempt("import the notebook", action)


def refresh() -> None:
    services.refresh_analyst_views()
    st.session_state[RESULTS] = {}


def show_result(cell: EditorCell, result: CellResult) -> None:
    if not result.ok:
        st.error(f"{result.label} failed: {result.error}\n\nFix the query and run it again.")
        return
    st.caption(result.summary())
    st.dataframe(shown(result.frame), hide_index=True, key=f"nb_table_{cell.key}")
    if result.frame.is_empty():
        return
    kind = st.selectbox("Chart", ["none", *charts.CHART_KINDS], key=f"nb_chart_{cell.key}")
    if kind == "none":
        return
    options = charts.chartable_columns(result.frame)
    left, middle, right = st.columns(3)
    x = left.selectbox(
        "x" if kind != "timeline" else "start", options[f"{kind}.x"], key=f"nb_x_{cell.key}"
    )
    y = middle.selectbox(
        "y" if kind != "timeline" else "end", options[f"{kind}.y"], key=f"nb_y_{cell.key}"
    )
    color = right.selectbox("colour / label", [None, *options["color"]], key=f"nb_color_{cell.key}")
    try:
        figure = charts.quick_chart(result.frame, kind, str(x), str(y), color)
    except ValueError as error:
        st.warning(str(error))
        return
    st.plotly_chart(figure, key=f"nb_figure_{cell.key}")


def show_cell(index: int, cell: EditorCell) -> None:
    with st.container(border=True):
        head, *buttons = st.columns([6, 1, 1, 1, 1], vertical_alignment="bottom")
        head.markdown(f"**{positional_name(index)}** · {cell.kind.upper()}")
        if cell.kind == "sql":
            buttons[0].button("Run", key=f"nb_run_{cell.key}", on_click=run, args=(cell.key,))
        buttons[1].button("Up", key=f"nb_up_{cell.key}", on_click=move, args=(cell.key, -1))
        buttons[2].button("Down", key=f"nb_down_{cell.key}", on_click=move, args=(cell.key, 1))
        buttons[3].button("Delete", key=f"nb_delete_{cell.key}", on_click=delete, args=(cell.key,))
        st.session_state.setdefault(f"nb_source_{cell.key}", cell.source)
        if cell.kind == "sql":
            st.session_state.setdefault(f"nb_name_{cell.key}", cell.name)
            st.text_input(
                "Name (optional)", key=f"nb_name_{cell.key}", placeholder=positional_name(index)
            )
            st.text_area("SQL", key=f"nb_source_{cell.key}", height=120)
            result = st.session_state[RESULTS].get(cell.key)
            if result is not None:
                show_result(cell, result)
        else:
            st.text_area("Markdown", key=f"nb_source_{cell.key}", height=80)
            st.markdown(cell.source)


with ui.reported("open the notebook"):
    if CELLS not in st.session_state:
        saved = services.notebook_cells(workspace_id)
        st.session_state[CELLS] = editor_cells(saved)
        st.session_state[SAVED], st.session_state[RESULTS] = saved, {}
    try:
        session = services.analyst_session(workspace_id)
    except AnalystError as error:
        st.error(f"Could not read the analyst views: {error}")
        st.stop()

    note = st.session_state.pop(NOTE, None)
    if note:
        (st.success if note[0] == "success" else st.error)(note[1])
    st.caption(
        f"Cells query this workspace's analyst views as of {session.as_of:%Y-%m-%d %H:%M} UTC. "
        f"Limits: each cell stops after {session.limits.seconds:g} s and its table shows at "
        f"most {session.limits.rows:,} rows. A later cell can use an earlier one's whole result "
        "by its number (cell_2) or its name."
    )
    with st.expander("Views"):
        for name, rows in session.views.items():
            st.markdown(f"`{name}`: {rows:,} rows")
        st.caption("Every view and column is described in docs/analyst-views.md.")

    cells = current()
    if not cells:
        st.info("This notebook is empty: add a SQL cell, e.g. SELECT * FROM v_gaps, and run it.")
    for index, cell in enumerate(cells):
        show_cell(index, cell)
    cells = current()

    bar = st.columns(6)
    bar[0].button("Add SQL cell", key="nb_add_sql", on_click=add, args=("sql",))
    bar[1].button("Add Markdown cell", key="nb_add_markdown", on_click=add, args=("markdown",))
    bar[2].button("Run all", key="nb_run_all", on_click=run, args=(None,), type="primary")
    bar[3].button("Save", key="nb_save", on_click=save)
    bar[4].button("Refresh data", key="nb_refresh", on_click=refresh)
    bar[5].download_button(
        "Export .ipynb",
        services.export_notebook(workspace_id, saved_cells(cells)),
        file_name=f"{workspace_id}-notebook.ipynb",
        mime="application/x-ipynb+json",
        key="nb_export",
    )
    if saved_cells(cells) != st.session_state[SAVED]:
        st.caption("Unsaved changes: press Save to keep them.")

    upload = st.file_uploader("Import a Jupyter notebook (.ipynb)", type=["ipynb"], key="nb_upload")
    if upload is not None:
        st.button(
            "Import: replace this notebook with the file's cells",
            key="nb_import",
            on_click=load_imported,
            args=(upload.getvalue(),),
        )
