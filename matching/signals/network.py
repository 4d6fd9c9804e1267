"""Network signal: is the seller one of a network of shops (matching.clusters: shared own photos, shared contacts,
the same titles or shop name) whose other shops were found selling copies?

One operator runs many shops; a listing from a shop tied to shops reviewers confirmed selling copies, or that
matching flagged for copies on their own evidence, is likely a copy too, whatever its own photos and words say.
MATCH names those shops and how the seller is tied to them; the measure is how many such shops. NO_MATCH when
the network's other shops were found selling no copies. Without a network (or not looked up) there is no signal.
The rules (matching.verdicts) let it add weight to a listing that is the brand's product, never make one suspect
on its own: sharing a photo with a copy shop says nothing about a listing of other goods.
"""

from __future__ import annotations

from matching.facts import LinkedShop, NetworkFacts
from matching.signals.result import SignalResult, match, no_match

NAME = "network"
MAX_SHOPS_SAID = 3


def _shop(shop: LinkedShop) -> str:
    said = []
    if shop.confirmed:
        said.append(f"{shop.confirmed} confirmed")
    if shop.flagged:
        said.append(f"{shop.flagged} flagged")
    plural = "s" if shop.confirmed + shop.flagged > 1 else ""
    return f"{shop.name} on {shop.marketplace} ({' and '.join(said)} counterfeit finding{plural})"


def network_signal(network: NetworkFacts) -> SignalResult:
    ties = "; ".join(network.ties)
    where = ", ".join(network.marketplaces)
    evidence = {
        "size": network.size,
        "marketplaces": list(network.marketplaces),
        "ties": list(network.ties),
        "counterfeit_shops": [{"name": s.name, "marketplace": s.marketplace, "confirmed": s.confirmed,
                               "flagged": s.flagged} for s in network.counterfeit_shops],
        "key": network.key(),
    }
    shops = network.counterfeit_shops
    if shops:
        named = ", ".join(_shop(s) for s in shops[:MAX_SHOPS_SAID])
        more = f" and {len(shops) - MAX_SHOPS_SAID} more" if len(shops) > MAX_SHOPS_SAID else ""
        return match(NAME, f"the seller belongs to a network of {network.size} shops on {where} ({ties}) that "
                     f"sells copies: {named}{more}", float(len(shops)), **evidence)
    return no_match(NAME, f"the seller belongs to a network of {network.size} shops on {where} ({ties}), none of "
                    "them found selling copies", 0.0, **evidence)
