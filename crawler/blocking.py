"""Pages that block us are not empty results: a login wall, a slider captcha, a risk page.

`block_sign` is a pure function over a response, like an extractor: it says whether a page is a marketplace's
refusal rather than its content, and what gave it away, so the crawl can keep the page as evidence, mark the run
blocked (never complete, so no listing is marked gone because of it) and alert the operator. BrandPatrol never
solves or bypasses a captcha: the operator signs in by hand and exports cookies (see core/cookies.py).

What gives a refusal away, by marketplace family:
- Alibaba (Taobao, Tmall, 1688, AliExpress, Lazada): the "punish" interstitial (`/_____tmd_____/punish`, `x5sec`),
  the noCaptcha slider (`nc_1_n1z`, `nc_1_wrapper`, 滑块/拖动滑块), a redirect to login.taobao.com / login.tmall.com /
  login.1688.com / passport.aliexpress.com / member.lazada.*;
- JD: its risk handler (`risk_handler`, cfe.m.jd.com/privatedomain) and passport.jd.com;
- Amazon: /errors/validateCaptcha, "Robot Check"; eBay: its "splashui/captcha" and "Pardon Our Interruption";
- anyone: reCAPTCHA, hCaptcha, Cloudflare's and Akamai's challenge pages, a login form where results were expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scrapy.http import TextResponse

from crawler.extractors.common import split_url

SCAN_CHARS = 300_000  # of a page's text searched for the tells (challenge pages are small; a real page has them early)

# (kind, what it is, pattern over the page's text)
_PAGE_TELLS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("captcha", "Alibaba's punish page", re.compile(r"_____tmd_____/punish|x5secdata|punish\?x5secdata")),
    ("captcha", "Alibaba's slider captcha", re.compile(r"""id=["']?nc_1_(?:n1z|wrapper)|nc-container|noCaptcha""")),
    ("captcha", "a slider captcha (滑块)",
     re.compile(r"(?:请|向右)?拖动(?:下方)?滑块|滑块验证|通过验证以确保正常访问")),
    ("captcha", "JD's risk page", re.compile(r"risk_handler|privatedomain/risk|京东验证|安全验证中心")),
    ("captcha", "Amazon's robot check", re.compile(r"/errors/validateCaptcha|<title[^>]*>\s*Robot Check", re.I)),
    ("captcha", "eBay's interruption page", re.compile(r"Pardon Our Interruption|splashui/captcha", re.I)),
    ("captcha", "reCAPTCHA", re.compile(r"""class=["'][^"']*g-recaptcha|www\.google\.com/recaptcha/""")),
    ("captcha", "hCaptcha", re.compile(r"""class=["'][^"']*h-captcha|hcaptcha\.com/1/api\.js""")),
    ("captcha", "Cloudflare's challenge", re.compile(r"cf-chl-|challenge-platform|Just a moment\.\.\.</title>")),
    ("captcha", "Akamai's access denial", re.compile(r"<title>\s*Access Denied\s*</title>[\s\S]{0,2000}Reference #",
                                                     re.I)),
)
# Hosts and paths a marketplace sends a crawler to instead of the page it asked for.
_LOGIN_HOSTS = re.compile(r"^(?:login\.(?:taobao|tmall|1688|alibaba)\.com|passport\.(?:jd|aliexpress|alibaba)\.com|"
                          r"member\.lazada\.[a-z.]+|signin\.ebay\.[a-z.]+|accounts\.[a-z0-9.-]+)$")
_LOGIN_PATH = re.compile(r"/(?:login|signin|sign-in|passport|ap/signin)(?:[./?]|$)", re.I)
_PASSWORD_FORM = re.compile(r"""<input[^>]{0,300}type=["']?password""", re.I)


@dataclass(frozen=True)
class BlockSign:
    """Why a page reads as a refusal: `kind` is captcha, login or no_cards; `seen` says what, for people."""

    kind: str
    seen: str

    def describe(self, url: str) -> str:
        return f"{self.seen} at {url[:200]}"


def block_sign(response: TextResponse, *, found: int = 0, cards_expected: bool = False) -> BlockSign | None:
    """The refusal a page shows, else None. `found` is how many listings its extractor read from it: a page that
    gave listings is no refusal, whatever scripts it carries (real pages load the slider's script just in case),
    unless the marketplace sent us to a sign-in page. `cards_expected` marks a search page: one that gives no cards
    and shows a password form is a login wall, one that gives none at all a page of no results (no_cards), which the
    caller weighs against what the marketplace usually gives."""
    parts = split_url(response.url)
    host = ((parts.hostname if parts else None) or "").lower()
    if _LOGIN_HOSTS.match(host) or (parts is not None and _LOGIN_PATH.search(parts.path)):
        return BlockSign("login", f"a sign-in page ({host}{parts.path[:60] if parts else ''})")
    if found:
        return None
    # The address counts too: a marketplace often redirects to its challenge (…/_____tmd_____/punish?x5secdata=…).
    text = response.url[:2048] + "\n" + response.text[:SCAN_CHARS]
    for kind, what, pattern in _PAGE_TELLS:
        if pattern.search(text):
            return BlockSign(kind, what)
    if cards_expected:
        if _PASSWORD_FORM.search(text):
            return BlockSign("login", "a sign-in form where search results were expected")
        return BlockSign("no_cards", "a page with no search results where results were expected")
    return None
