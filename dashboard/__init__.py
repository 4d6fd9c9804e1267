"""The review dashboard (Streamlit), floor 3: imports core/ and matching/ only.

data/ holds every query and write (no Streamlit); present.py the labels and tables (no Streamlit, no database);
ui.py the shared Streamlit plumbing; app.py the entry point (`streamlit run dashboard/app.py`); views/ the pages.
"""
