"""Shards: the unit of crawl work in team mode. A marketplace's shards are its start URLs and its search terms,
one each, in the order the configuration lists them.

A shard crawls in a *slot*: shard i of a marketplace with `parallel_shards: N` takes slot i mod N. Shards of one
slot never run at once (the crawl lock of that slot, and the queue's lock of the same name), so at most N shards
of a marketplace run at the same time, and slot k goes out through the marketplace's k-th proxy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.config import Marketplace

KEY_MAX = 300  # crawl_run.shard


@dataclass(frozen=True)
class Shard:
    marketplace: str
    kind: Literal["url", "term"]
    value: str
    index: int  # its place among the marketplace's shards
    slot: int

    @property
    def key(self) -> str:
        """How runs and jobs name the shard: `term:lumina`, `url:https://...` (cut to KEY_MAX characters, with the
        shard's index, so two long URLs sharing their start stay apart)."""
        key = f"{self.kind}:{self.value}"
        return key if len(key) <= KEY_MAX else f"{key[:KEY_MAX - 12]}~#{self.index}"

    def narrowed(self, market: Marketplace) -> Marketplace:
        """The marketplace as this shard crawls it: its one start URL or its one search term."""
        if self.kind == "url":
            return market.model_copy(update={"start_urls": [self.value], "search_terms": []})
        return market.model_copy(update={"start_urls": [], "search_terms": [self.value]})


def shards_of(market: Marketplace) -> list[Shard]:
    values: list[tuple[Literal["url", "term"], str]] = [("url", url) for url in market.start_urls]
    if market.search_url:
        values += [("term", term) for term in market.search_terms]
    return [Shard(market.name, kind, value, index, index % market.parallel_shards)
            for index, (kind, value) in enumerate(values)]


class UnknownShard(ValueError):
    """A shard key the marketplace's configuration no longer has."""


def find_shard(market: Marketplace, key: str) -> Shard:
    for shard in shards_of(market):
        if shard.key == key:
            return shard
    known = ", ".join(s.key for s in shards_of(market)[:10])
    raise UnknownShard(f"marketplace '{market.name}' has no shard '{key}' (its shards: {known}); the configuration "
                       "changed since the job was queued: the next scheduled crawl queues the shards it has now")
