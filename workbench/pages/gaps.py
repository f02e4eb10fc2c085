"""Gaps: what is missing and why; backfill what the API still has, import what it has not."""

from __future__ import annotations

import polars as pl
import streamlit as st

from workbench import services, tables, ui

st.title("Gaps")
workspace_id = ui.require_workspace()

with ui.reported("find the gaps"):
    gaps = services.gaps(workspace_id)
    if gaps.is_empty():
        st.success("No gaps: every expected settlement is here and posted exactly once.")
        st.stop()
    st.dataframe(
        tables.gap_table(gaps),
        hide_index=True,
        key="gap_table",
        # long causes and details are cut (hover shows them) so that `recoverable` stays in view
        column_config={
            "cause": st.column_config.TextColumn(width="medium"),
            "detail": st.column_config.TextColumn(width="medium"),
        },
    )

    channel = gaps.filter(pl.col("kind").is_in(services.BACKFILLABLE))
    recoverable = channel.filter(pl.col("recoverable").fill_null(False))
    if recoverable.height:
        st.subheader("Backfill")
        labels = {row["id"]: tables.gap_label(row) for row in recoverable.iter_rows(named=True)}
        chosen = st.multiselect(
            "Gaps to backfill",
            list(labels),
            default=list(labels),
            format_func=labels.__getitem__,
            key="backfill_choice",
        )
        if st.button("Backfill the selected gaps", type="primary", disabled=not chosen):
            ui.run_backfills(workspace_id, chosen, labels)
            st.button("Refresh the gaps", key="after_backfill")

    manual = channel.filter(~pl.col("recoverable").fill_null(False))
    for row in manual.iter_rows(named=True):
        st.subheader(f"Import: {tables.gap_label(row)}")
        st.info(row["manual_step"] or "Request the settlement report from the channel.")
        upload = st.file_uploader(
            "The settlement file (V2 flat file, .txt/.tsv/.csv, or gzipped)",
            key=f"upload-{row['id']}",
        )
        if upload is not None and st.button("Import it", key=f"import-{row['id']}"):
            with ui.reported(f"import {upload.name}"):
                result = services.import_file(row["connection_id"], upload.name, upload.getvalue())
                if result.problems:
                    st.error(result.summary())
                    st.dataframe(tables.problem_table(result), hide_index=True)
                else:
                    st.success(result.summary())
