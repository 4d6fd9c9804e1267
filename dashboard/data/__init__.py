"""Every database read and write of the dashboard, as plain dataclasses (no Streamlit, no ORM objects out).

Reads run in `Database.read()` (short, never takes SQLite's write lock); writes in `Database.session()` (one
transaction each). Pagination happens in SQL, so the queue costs the same with ten findings or ten million.
Scraped values (titles, seller names, reasons, URLs) pass through unchanged: showing them as text is the UI's
job. Callers import from the module that holds what they need:

- queue.py     the review queue: filters, per-verdict counts, pages cut in SQL with their stored thumbnails, the
               marketplace and product pickers
- groups.py    the findings of one seller, network, product or filter, for one decision over a group
- reviews.py   recording decisions on findings (one transaction, audited with their group, no silent overwrite)
- detail.py    everything the detail page shows about one finding: listing, seller, product, price history
- matched.py   what matching saw on a finding's photo (artwork outline, whole photo), drawn on its thumbnail
- neighbours.py a finding's seller in context: its other listings and its network of shops
- evidence.py  captured files: their metadata, and their bytes decompressed, capped and checked on demand
- runs.py      the newest crawl runs with their page, item, drop and error counts
- common.py    what the modules above share: stored times as UTC, a finding's reason as text
"""
