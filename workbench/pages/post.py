"""Post: the plans as they will be sent, holds and their reasons, posting, history, unposting."""

from __future__ import annotations

import polars as pl
import streamlit as st

from workbench import services, tables, ui

st.title("Post")
workspace_id = ui.require_workspace()

with ui.reported("plan the postings"):
    view = services.plans(workspace_id)
    st.caption(f"Ledger: {view.ledger}. Each settlement is posted once, under its own reference.")
    ready = view.plans.filter(~pl.col("on_hold"))
    held = view.plans.filter(pl.col("on_hold"))
    if view.plans.is_empty():
        st.success("Nothing to post: every closed settlement is in the ledger.")
    else:
        post_from = st.date_input(
            "Post settlements that started on or after",
            value=view.earliest_ready() or services.now().date(),
            format="YYYY-MM-DD",
            help="Books kept by another tool before this date stay as they are.",
            key="post_from",
        )
        eligible = ready.filter(pl.col("period_start") >= ui.day_start(post_from))
        labels = {
            row["settlement_id"]: f"{row['connection']} {row['settlement']} "
            f"({tables.iso(row['period_start'])[:10]} to {tables.iso(row['period_end'])[:10]}, "
            f"{row['net']})"
            for row in eligible.iter_rows(named=True)
        }
        chosen = st.multiselect(
            "Settlements to post",
            list(labels),
            default=list(labels),
            format_func=labels.__getitem__,
            key="post_choice",
        )
        if st.button(
            f"Post {len(chosen)} settlement{'s' * (len(chosen) != 1)}",
            type="primary",
            disabled=not chosen,
        ):
            bar = st.progress(0.0, text="Posting")
            ui.run_posting(workspace_id, chosen, bar)

        st.subheader("Plans")
        st.dataframe(
            view.plans.drop("settlement_id", "hold_message"),
            hide_index=True,
            key="plans_table",
            column_config={
                "period_start": st.column_config.DatetimeColumn("from", format="YYYY-MM-DD"),
                "period_end": st.column_config.DatetimeColumn("to", format="YYYY-MM-DD"),
            },
        )
        detail = st.selectbox(
            "Show what is sent for",
            list(view.entries),
            format_func=lambda sid: " ".join(
                view.plans.filter(pl.col("settlement_id") == sid)
                .select("connection", "settlement")
                .row(0)
            ),
            key="plan_detail",
        )
        if detail:
            st.dataframe(view.entries[detail], hide_index=True, key="entries_table")
            if view.payments[detail].height:
                st.caption("Payments of the net to the clearing account")
                st.dataframe(view.payments[detail], hide_index=True, key="payments_table")

    if held.height:
        st.subheader("On hold")
        for row in held.iter_rows(named=True):
            st.warning(
                f"**{row['connection']} {row['settlement']}** ({row['hold_reason']}): "
                f"{row['hold_message']}",
                icon=":material/pause_circle:",
            )

    st.subheader("Posted")
    settled = services.settlements(workspace_id)
    posted = settled.filter(pl.col("posting_status").is_in(["posted", "voided", "failed"]))
    if posted.is_empty():
        st.info("Nothing posted yet.")
    else:
        names = {
            row["id"]: f"{row['connection']} {row['provider_settlement_id']} "
            f"({row['posting_status']})"
            for row in posted.iter_rows(named=True)
        }
        picked = st.selectbox(
            "History of", list(names), format_func=names.__getitem__, key="history_of"
        )
        st.dataframe(services.posting_history(picked), hide_index=True, key="history_table")
        sure = st.checkbox(
            "Void this settlement's invoices and delete its payments in the ledger",
            key="unpost_sure",
        )
        if st.button("Unpost", disabled=not sure, key="unpost"):
            with ui.reported("unpost"):
                done = services.unpost_settlement(picked)
                st.success(
                    f"Unposted {done.provider_settlement_id}: {len(done.voided)} voided, "
                    f"{done.payments_deleted} payments deleted."
                )
