"""A local shop for crawl benchmarks: search pages of 50 links, ~83 KB listing pages with 24 fields,
server-rendered or rendered by JavaScript. Served on 127.0.0.1 from memory, by the tests' loopback server."""

from __future__ import annotations

import json

from tests.loopback import LocalServer, QuietHandler

PER_PAGE = 50
FIELDS = [f"spec_{i}" for i in range(19)]  # with title, price, seller, location, sku: 24 fields
PADDING = "<p class=filler>" + ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20) + "</p>"


def listing(n: int) -> dict[str, str]:
    return {"title": f"Acme widget number {n}", "price": f"${10 + n % 90}.99", "seller": f"shop-{n % 37}",
            "location": "Located in Shenzhen, China", "sku": f"SKU{n:06d}",
            **{name: f"{name} value {n}" for name in FIELDS}}


def item_html(n: int, javascript: bool) -> bytes:
    data = listing(n)
    filler = PADDING * 64  # ~83 KB pages, as real marketplace listing pages are
    if javascript:
        script = ("const d=" + json.dumps(data) + ";const m=document.getElementById('app');"
                  "for(const [k,v] of Object.entries(d)){const e=document.createElement('span');"
                  "e.className=k;e.textContent=v;m.appendChild(e);}document.body.dataset.ready='1';")
        return f"<html><body><div id=app></div>{filler}<script>{script}</script></body></html>".encode()
    spans = "".join(f"<span class={k}>{v}</span>" for k, v in data.items())
    return f"<html><body><h1>{data['title']}</h1>{spans}{filler}</body></html>".encode()


def search_json(page: int, pages: int) -> bytes:
    """The same search page as a JSON API gives it: the cards' links and the next page."""
    cards = [{"id": n, "href": f"/api/item/{n}"} for n in range((page - 1) * PER_PAGE, page * PER_PAGE)]
    more = f"/api/search?page={page + 1}" if page < pages else None
    return json.dumps({"result": {"cards": cards, "next": more}}).encode()


def item_json(n: int) -> bytes:
    """The same listing as a JSON API gives it (the data the JavaScript page draws, without the page around it)."""
    return json.dumps({"item": listing(n)}).encode()


def search_html(page: int, pages: int, prefix: str) -> bytes:
    links = "".join(f"<a class=item href='{prefix}/item/{n}'>{n}</a>"
                    for n in range((page - 1) * PER_PAGE, page * PER_PAGE))
    more = f"<a class=next href='{prefix}/search?page={page + 1}'>next</a>" if page < pages else ""
    ready = "<script>document.body.dataset.ready='1'</script>" if prefix else ""
    return f"<html><body>{links}{more}{ready}</body></html>".encode()


class BenchShop(LocalServer):
    def __init__(self, listings: int):
        self.pages = max(1, listings // PER_PAGE)
        shop = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                javascript = path.startswith("/js/")
                tail = path.removeprefix("/js")
                content_type = "text/html; charset=utf-8"
                if path.startswith("/api/"):
                    content_type = "application/json"
                    if path == "/api/search":
                        body = search_json(int(query.removeprefix("page=") or 1), shop.pages)
                    else:
                        body = item_json(int(path.rsplit("/", 1)[1]))
                elif tail == "/search":
                    page = int(query.removeprefix("page=") or 1) if query.startswith("page=") else 1
                    body = search_html(page, shop.pages, "/js" if javascript else "")
                elif tail.startswith("/item/"):
                    body = item_html(int(tail.rsplit("/", 1)[1]), javascript)
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)
