"""Crawl runs: the newest runs with their counts, so a failed or empty night is noticed."""

from __future__ import annotations

import streamlit as st

from core.models import RunStatus
from core.operations import format_status, gather_status
from dashboard import auth, desk, insights, present, ui
from dashboard.data.runs import recent_runs

auth.require("runs")
db = ui.database()
st.title(auth.t("page.runs"))
schedule = desk.schedule()
if schedule is not None:
    fire = insights.next_crawl(schedule)
    st.text(auth.t("runs.next", when=f"{fire:%Y-%m-%d %H:%M %Z}", cron=schedule.cron) if fire
            else auth.t("runs.no_schedule"))
# The same health report as `brandpatrol status`: scheduler, jobs with their next fire, what is overdue.
health = gather_status(db, desk.brand_config())
for problem in health.overdue:
    st.warning(problem)  # built from job ids, marketplace names and times of our own config, not scraped text
with st.expander(auth.t("runs.health")):
    st.code(format_status(health), language=None)
if health.cluster is not None:  # team mode: the work queue in PostgreSQL
    st.subheader(auth.t("runs.queue"))
    st.text(auth.t("runs.queue_counts", counts=", ".join(f"{n} {s}" for s, n in sorted(health.cluster.counts.items()))
                   or "0", workers=len(health.cluster.workers)))
    # A parked job's reason may quote a page: a dataframe shows it as plain text.
    st.dataframe(present.work_queue_frame(health.cluster), hide_index=True, width="stretch")
limit = st.selectbox(auth.t("runs.latest"), (20, 50, 100, 200), index=1, key="r_limit")
runs = recent_runs(db, limit)
if not runs:
    st.info(auth.t("runs.none"))
    st.stop()
failed = sum(1 for r in runs if r.status is RunStatus.FAILED)
c1, c2, c3 = st.columns(3)
c1.metric(auth.t("runs.shown"), len(runs))
c2.metric(auth.t("runs.failed"), failed)
c3.metric(auth.t("runs.newest_items"), runs[0].items)
# Error texts may quote scraped pages: a dataframe shows them as plain text.
st.dataframe(present.localized(present.runs_frame(runs, auth.t), auth.t), hide_index=True, width="stretch")
