"""Cookie files an operator exported after signing in by hand (core/cookies.py): both formats read, bad ones named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.cookies import CookieFileError, load_cookies

NETSCAPE = (
    "# Netscape HTTP Cookie File\n"
    "# exported by hand\n"
    ".taobao.com\tTRUE\t/\tTRUE\t1893456000\tcookie2\tabc123\n"
    "#HttpOnly_.taobao.com\tTRUE\t/\tFALSE\t0\t_tb_token_\tx9\n"
    "\n"
)


def test_netscape_cookies_txt(tmp_path: Path) -> None:
    path = tmp_path / "cookies.txt"
    path.write_text(NETSCAPE, encoding="utf-8")
    first, second = load_cookies(path)
    assert (first.name, first.value, first.domain, first.secure, first.expires) == (
        "cookie2", "abc123", ".taobao.com", True, 1893456000.0)
    assert (second.name, second.http_only, second.expires) == ("_tb_token_", True, -1)
    assert first.for_playwright()["httpOnly"] is False


def test_playwright_storage_state(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"cookies": [{"name": "thw", "value": "cn", "domain": ".taobao.com", "path": "/",
                                             "expires": -1, "httpOnly": True, "secure": False, "sameSite": "Lax"}],
                                "origins": []}), encoding="utf-8")
    [cookie] = load_cookies(path)
    assert (cookie.name, cookie.value, cookie.http_only, cookie.expires) == ("thw", "cn", True, -1)


@pytest.mark.parametrize(("content", "says"), [
    (".taobao.com\tTRUE\t/\tTRUE\t1893456000\tcookie2\n", "line 1: a cookies.txt line has 7 tab-separated fields"),
    ("# c\n.taobao.com\tTRUE\t/\tMAYBE\t1\tn\tv\n", "line 2: the secure field is TRUE or FALSE"),
    (".taobao.com\tTRUE\t/\tTRUE\t1\tbad name\tv\n", "line 1: 'bad name' is not a cookie name"),
    (".taobao.com\tTRUE\t/\tTRUE\t1\tn\tv;evil=1\n", "line 1: the value of cookie 'n'"),
    ('{"cookies": [{"name": "n", "value": 1, "domain": "x"}]}', "cookies[0]: each cookie has a name"),
    ('{"origins": []}', 'has a "cookies" list'),
    ('{"cookies": [', "not valid JSON"),
    ("# only comments\n", "holds no cookies"),
])
def test_a_bad_cookie_file_is_named_with_its_line(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "cookies.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CookieFileError) as raised:
        load_cookies(path)
    assert str(path) in str(raised.value) and says in str(raised.value)


def test_a_missing_or_binary_cookie_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CookieFileError, match="cannot be read"):
        load_cookies(tmp_path / "absent.txt")
    binary = tmp_path / "cookies.bin"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CookieFileError, match="not UTF-8"):
        load_cookies(binary)
