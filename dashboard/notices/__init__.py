"""The takedown desk's engine (no Streamlit): notice templates, drafting, storage, exports, test buys.

- model.py     grounds, parties, listing and test-buy facts (plain values, JSON round-trip)
- registry.py  the templates: forms, grounds, link limits, required rights-holder fields
- drafting.py  confirmed findings -> notice texts, with refusals and warnings (pure)
- render.py    the sandboxed Jinja2 environment over the shipped templates/ files
- store.py     the database side: confirmed findings, notices and their status, audit rows
- testbuys.py  test buys: photos through core.images, codes traced to distributors
- exports/     PDF, DOCX, CSV / XLSX bulk forms and the ZIP evidence bundle
"""
