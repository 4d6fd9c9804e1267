"""Page scripts run by st.navigation (see dashboard/app.py). Each reads and writes only through dashboard.data."""

# Queue filter widgets whose values survive a visit to another page.
QUEUE_STATE_KEYS = ("q_verdicts", "q_markets", "q_min_score", "q_include_gone", "q_page_size", "q_page",
                    "q_products", "q_region", "q_seller", "q_since", "q_until", "q_layout")
