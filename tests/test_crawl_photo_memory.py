"""Many huge photos at once: PNGs that are small on the wire and huge decoded (a PNG cannot decode at reduced size),
sent so that every decode would start at the same moment. The crawl's decodes stay within their memory budget, a
photo larger than the whole budget is refused with a stored status, and a decode that would pass the crawl's memory
limit stops the crawl as memusage_exceeded before the memory is taken (Scrapy's own check runs every 10 s)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from brandpatrol import jobs
from core.images import READING_COPY_SIDE, decode_cost, hash_image
from core.models import ImageStatus, ListingImage, RunStatus
from core.settings import Settings
from tests.crawl_kit import configured_shop, item_page, last_run, search_page
from tests.loopback import Route, reply

pytestmark = pytest.mark.timeout(300)
MB = 1024 * 1024
EAGER = {"concurrency": 8, "autothrottle": False, "download_delay": 0}


def huge_png(width: int, height: int) -> bytes:
    """An RGBA PNG of gradients and checks: about 2 KB per megapixel on the wire, 14 bytes per pixel decoded."""
    x, y = np.arange(width), np.arange(height)[:, None]
    rgba = np.empty((height, width, 4), dtype=np.uint8)
    rgba[..., 0] = x * 255 // width
    rgba[..., 1] = y * 255 // height
    rgba[..., 2] = ((x // 40 + y // 40) % 2) * 200
    rgba[..., 3] = 255 - x * 60 // width
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, "PNG", compress_level=1)
    return out.getvalue()


def all_at_once(body: bytes, expected: int) -> Route:
    """Each photo request waits until `expected` of them are in, so every decode is ready to start together."""
    gate = threading.Barrier(expected, timeout=60)

    def handle(handler: BaseHTTPRequestHandler) -> None:
        try:
            gate.wait()
        except threading.BrokenBarrierError:
            pass  # fewer came at once; the photo is still served
        reply(body, "image/png")(handler)

    return handle


def shop_with_photos(photos: dict[str, Route]) -> dict[str, Route]:
    routes: dict[str, Route] = {"/search": reply(search_page(*photos))}
    for item, route in photos.items():
        routes[f"/item/{item}"] = reply(item_page(f"Acme widget {item}", image=f"/photo/{item}.png"))
        routes[f"/photo/{item}.png"] = route
    return routes


def photos(settings: Settings) -> dict[str, ListingImage]:
    with jobs.open_database(settings).read() as session:
        return {row.url.rsplit("/", 1)[-1].removesuffix(".png"): row for row in session.scalars(select(ListingImage))}


def test_many_huge_pngs_at_once_decode_within_the_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    budget = 100 * MB
    monkeypatch.setenv("BRANDPATROL_IMAGE_DECODE_BUDGET_MB", str(budget // MB))
    png, over = huge_png(3000, 2000), huge_png(4000, 3000)  # 6 MP and 12 MP
    cost = decode_cost(png, READING_COPY_SIDE)
    assert 0.5 * budget < cost <= budget < decode_cost(over, READING_COPY_SIDE)  # one at a time; the other never
    same_moment = all_at_once(png, 8)
    routes = shop_with_photos({**{f"p{n}": same_moment for n in range(8)}, "over": reply(over, "image/png")})
    with configured_shop(tmp_path, routes, marketplace=EAGER) as (_server, config, settings):
        result = jobs.crawl_one(settings, config, "shop")
        assert result.status == RunStatus.OK, result.summary()
        stored = photos(settings)
        stats = last_run(settings).stats

    expected = hash_image(png, thumbnail=True)
    for n in range(8):  # hashed as ever: bounding the decodes changes no hash
        assert (stored[f"p{n}"].status, stored[f"p{n}"].phash, stored[f"p{n}"].dhash) == (
            ImageStatus.OK, expected.phash, expected.dhash)
    assert stored["over"].status == ImageStatus.TOO_LARGE
    assert "BRANDPATROL_IMAGE_DECODE_BUDGET_MB" in (stored["over"].status_reason or "")
    # The budget's own accounting: eight decodes asked at once, at most one held its memory at a time.
    assert stats["brandpatrol/decode/budget_bytes"] == budget
    assert cost <= stats["brandpatrol/decode/peak_reserved_bytes"] <= budget
    assert stats["brandpatrol/decode/waits"] >= 1
    # And the process's peak RSS: eight 6 MP decodes at once would add some 600 MB.
    assert stats["memusage/max"] - stats["memusage/startup"] < 2 * budget


def test_huge_png_past_the_memory_limit_stops_the_crawl_before_decoding(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    limit = 400 * MB
    monkeypatch.setenv("BRANDPATROL_CRAWL_MEMORY_LIMIT_MB", str(limit // MB))
    monkeypatch.setenv("BRANDPATROL_IMAGE_DECODE_BUDGET_MB", "1000")  # the budget would let it through
    png = huge_png(6000, 4000)  # 24 MP: some 340 MB decoded, on top of the crawl's own 100 MB or more
    assert 300 * MB < decode_cost(png, READING_COPY_SIDE) < limit
    with configured_shop(tmp_path, shop_with_photos({"big": reply(png, "image/png")}), marketplace=EAGER) as (
            _server, config, settings):
        result = jobs.crawl_one(settings, config, "shop")
        run = last_run(settings)
        stored = photos(settings)

    assert run.stats["memusage/startup"] < limit  # the crawl started under its limit
    assert result.status == RunStatus.PARTIAL, result.summary()
    assert run.errors["finish_reason"] == "memusage_exceeded"
    assert stored["big"].status == ImageStatus.TOO_LARGE
    assert (stored["big"].status_reason or "").startswith("not decoded: decoding a photo would take about")
    assert run.stats["memusage/max"] < limit  # the memory was never taken


MEASURE_PEAKS = """
import ctypes, gc, json, sys
from core.decode_budget import give_back_freed_memory
from core.images import ImageRejected, hash_image, reading_copy

def status(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) * 1024 for line in lines if line.startswith(field))

peaks = {}
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    gc.collect()
    give_back_freed_memory()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets VmHWM to the present RSS
    before = status("VmRSS:")
    try:
        hash_image(data, thumbnail=True)
        reading_copy(data)
    except ImageRejected as exc:  # refused after its decode: the memory was taken all the same
        print(path, exc, file=sys.stderr)
    peaks[path] = status("VmHWM:") - before
print(json.dumps(peaks))
"""


def test_decode_cost_is_at_least_the_peak_a_hash_takes(tmp_path: Path) -> None:
    """The budget is only as good as its estimate: per format and mode, the peak RSS that hashing a photo and making
    its reading copy adds (measured by the kernel's high-water mark in a fresh process) stays under `decode_cost`."""
    rgba = Image.open(io.BytesIO(huge_png(2400, 1600)))
    variants = {
        "png-rgb": (rgba.convert("RGB"), "PNG"), "png-rgba": (rgba, "PNG"), "png-grey": (rgba.convert("L"), "PNG"),
        "png-palette": (rgba.convert("RGB").convert("P"), "PNG"), "gif": (rgba.convert("RGB").convert("P"), "GIF"),
        "webp-rgb": (rgba.convert("RGB"), "WEBP"), "webp-rgba": (rgba, "WEBP"), "jpeg": (rgba.convert("RGB"), "JPEG"),
        "png-16bit": (Image.fromarray(np.asarray(rgba.convert("L"), dtype=np.uint16) * 257), "PNG"),
    }
    paths = []
    for name, (picture, fmt) in variants.items():
        path = tmp_path / name
        picture.save(path, fmt)
        paths.append(str(path))
    done = subprocess.run([sys.executable, "-c", MEASURE_PEAKS, *paths], capture_output=True, text=True,
                          timeout=120, check=False, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    peaks = json.loads(done.stdout)
    over = {Path(path).name: f"measured {peaks[path] / MB:.1f} MB, estimated {estimate / MB:.1f} MB"
            for path in paths if peaks[path] > (estimate := decode_cost(Path(path).read_bytes(), READING_COPY_SIDE))}
    assert not over
