"""Pages that block us (crawler/blocking.py): each marketplace's refusal is recognised, and no real page is."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.http import HtmlResponse

from crawler.blocking import block_sign
from tests.test_extractors_real_pages import MARKETPLACE_OF, listings, page

REFUSALS = [
    pytest.param("https://s.taobao.com/_____tmd_____/punish?x5secdata=abc", "<html><body>x</body></html>", "captcha",
                 id="taobao-punish-url"),
    pytest.param("https://s.taobao.com/search?q=x",
                 "<div id='nc_1_wrapper'><span id='nc_1_n1z' class='nc_iconfont btn_slide'></span></div>", "captcha",
                 id="alibaba-slider"),
    pytest.param("https://s.1688.com/selloffer/offer_search.htm", "<p>请拖动下方滑块完成验证</p>", "captcha",
                 id="slider-words"),
    pytest.param("https://search.jd.com/Search?keyword=x",
                 "<script>location.href='https://cfe.m.jd.com/privatedomain/risk_handler/03101900/'</script>",
                 "captcha", id="jd-risk"),
    pytest.param("https://www.amazon.com/s?k=x", "<form action='/errors/validateCaptcha'></form>", "captcha",
                 id="amazon-robot-check"),
    pytest.param("https://www.ebay.com/sch/i.html?_nkw=x", "<title>Pardon Our Interruption...</title>", "captcha",
                 id="ebay-interruption"),
    pytest.param("https://shop.example/search", "<div class='g-recaptcha' data-sitekey='x'></div>", "captcha",
                 id="recaptcha"),
    pytest.param("https://shop.example/search", "<title>Just a moment...</title><div id='cf-chl-widget'></div>",
                 "captcha", id="cloudflare"),
    pytest.param("https://login.taobao.com/member/login.jhtml?redirectURL=x", "<html></html>", "login",
                 id="taobao-login-redirect"),
    pytest.param("https://passport.jd.com/new/login.aspx", "<html></html>", "login", id="jd-passport"),
    pytest.param("https://shop.example/account/login?next=/search", "<html></html>", "login", id="login-path"),
]


@pytest.mark.parametrize(("url", "body", "kind"), REFUSALS)
def test_each_marketplace_refusal_is_recognised(url: str, body: str, kind: str) -> None:
    sign = block_sign(HtmlResponse(url=url, body=body.encode()))
    assert sign is not None and sign.kind == kind
    assert url[:40] in sign.describe(url)


def test_a_search_page_with_no_cards_is_a_login_wall_or_an_empty_page() -> None:
    wall = HtmlResponse(url="https://shop.example/search?q=x",
                        body=b"<form><input name=u><input type='password' name=p></form>")
    assert block_sign(wall, cards_expected=True).kind == "login"  # type: ignore[union-attr]
    empty = HtmlResponse(url="https://shop.example/search?q=x", body=b"<html><body><div id=app></div></body></html>")
    assert block_sign(empty, cards_expected=True).kind == "no_cards"  # type: ignore[union-attr]
    # The same page is no refusal where no cards were expected (a listing page), or where cards were found.
    assert block_sign(empty) is None and block_sign(empty, cards_expected=True, found=3) is None
    # A page that gave listings is no refusal, though it carries the slider's script, as real pages do.
    slider = HtmlResponse(url="https://s.taobao.com/search?q=x", body=b"<div id='nc_1_wrapper'></div>")
    assert block_sign(slider, found=36) is None and block_sign(slider).kind == "captcha"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", sorted(MARKETPLACE_OF))
def test_no_real_marketplace_page_reads_as_a_refusal(shared_pages: Path, name: str) -> None:
    found = listings(shared_pages, name)
    assert block_sign(page(shared_pages, name), cards_expected=len(found) > 1, found=len(found)) is None
