"""Scrapy's DNS resolver with the egress gate's check on what it returns (TWISTED_DNS_RESOLVER).

EgressGateMiddleware checks a request's URL with one DNS answer; Twisted then resolves the name again to connect.
A name whose answer changes in between (DNS rebinding: public for the check, 127.0.0.1 for the connection) would
slip past the middleware, so the address Twisted connects to is checked again here. Twisted does not resolve IP
literals, so those are the middleware's alone.

The resolver belongs to the process, not the spider: the exemptions come from the process settings
(`BRANDPATROL_EGRESS_POLICY`, set by crawler.run). Without them (a bare `scrapy crawl`), no host name is exempt.
"""

from __future__ import annotations

from typing import Any

from scrapy.resolver import CachingThreadedResolver
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError

from core.egress import EgressBlocked, EgressPolicy, check_resolved


class GatedResolver(CachingThreadedResolver):
    policy: EgressPolicy = EgressPolicy()

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> GatedResolver:
        resolver = super().from_crawler(crawler, reactor)
        resolver.policy = crawler.settings.get("BRANDPATROL_EGRESS_POLICY") or EgressPolicy()
        return resolver

    def getHostByName(self, name: str, timeout: Any = ()) -> Deferred[str]:
        return super().getHostByName(name, timeout).addCallback(self._checked, name)

    def _checked(self, address: str, name: str) -> str:
        try:
            check_resolved(name, address, self.policy)
        except EgressBlocked as exc:
            raise DNSLookupError(f"egress gate: {exc.reason}") from None
        return address
