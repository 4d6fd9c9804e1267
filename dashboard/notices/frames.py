"""Tables the desk pages show (pandas; no Streamlit). st.dataframe shows every cell as plain text.

Column names are English (callers and tests read them so); the pages show them in the user's language through
`present.localized(frame, auth.t)`, whose `present.COLUMN_KEYS` maps each header to its i18n key.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from dashboard.notices.model import GROUND_LABELS, Ground
from dashboard.notices.store import ConfirmedRow, NoticeDocument, NoticeSummary
from dashboard.notices.testbuys import TestBuyRow
from dashboard.present import format_price, format_when, verdict_label


def confirmed_frame(rows: Sequence[ConfirmedRow]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Finding": [r.finding_id for r in rows],
            "Score": [r.score for r in rows],
            "Verdict": [verdict_label(r.verdict) for r in rows],
            "Title": [r.title for r in rows],
            "Seller": [r.seller or "" for r in rows],
            "Price": [format_price(r.price) for r in rows],
            "Currency": [r.currency or "" for r in rows],
            "Ships from": [r.ship_from or "" for r in rows],
            "Confirmed by": [r.confirmed_by for r in rows],
            "Open notice": [r.open_notice_id for r in rows],
            "Gone": [r.gone for r in rows],
            "Card only": [r.card_only for r in rows],
        }
    )


def notices_frame(rows: Sequence[NoticeSummary]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Notice": [r.id for r in rows],
            "Status": [r.status.value for r in rows],
            "Marketplace": [r.marketplace for r in rows],
            "Template": [r.template for r in rows],
            "Ground": [r.ground for r in rows],
            "Part": [f"{r.part}/{r.parts}" for r in rows],
            "Listings": [r.listings for r in rows],
            "Gone": [r.gone for r in rows],
            "Drafted": [format_when(r.created_at) for r in rows],
            "By": [r.created_by for r in rows],
            "Filed": [format_when(r.filed_at) for r in rows],
            "Reference": [r.reference or "" for r in rows],
            "Checks": [r.warnings for r in rows],
        }
    )


def notice_listings_frame(doc: NoticeDocument) -> pd.DataFrame:
    listings = doc.listings
    return pd.DataFrame(
        {
            "#": list(range(1, len(listings) + 1)),
            "Finding": [f.finding_id for f in listings],
            "Item ID": [f.external_id for f in listings],
            "Title": [f.title for f in listings],
            "Seller": [f.seller_name or "" for f in listings],
            "Ships from": [f.ship_from or "" for f in listings],
            "URL (not opened)": [f.url for f in listings],
            "Test buys": [len(doc.test_buys.get(f.listing_id, [])) for f in listings],
            "Gone": [f.listing_id in doc.gone for f in listings],
        }
    )


def purchases_frame(rows: Sequence[TestBuyRow]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Test buy": [r.id for r in rows],
            "Marketplace": [r.marketplace for r in rows],
            "Item ID": [r.external_id for r in rows],
            "Title": [r.title for r in rows],
            "Order": [r.order_number for r in rows],
            "Ordered on": [r.ordered_on.isoformat() for r in rows],
            "Paid": [format_price(r.price_paid) for r in rows],
            "Currency": [r.currency for r in rows],
            "Code": [r.code_read or "" for r in rows],
            "Distributor": [r.distributor or "" for r in rows],
            "Result": [r.result.value for r in rows],
            "Photos": [r.photos for r in rows],
            "Recorded by": [r.recorded_by for r in rows],
        }
    )



def ground_label(ground: Ground | str) -> str:
    return GROUND_LABELS.get(Ground(ground), str(ground))
