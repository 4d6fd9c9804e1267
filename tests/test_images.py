from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from core.images import HASH_VERSION, ImageRejected, content_box, decode, hamming, hash_image, sniff_media_type
from core.models import ImageStatus
from tests.images import jpeg, mirrored, photo, png


def test_hashes_are_fixed_width_hex_and_stable() -> None:
    first = hash_image(jpeg(photo("coffee")))
    again = hash_image(jpeg(photo("coffee")))
    assert len(first.phash) == len(first.dhash) == len(first.phash_mirror) == 16
    int(first.phash, 16)
    assert first.phash == again.phash
    assert (first.width, first.height) == (600, 400)


def test_resized_copy_is_near_and_unrelated_photo_is_far() -> None:
    original = hash_image(jpeg(photo("coffee")))
    smaller = hash_image(jpeg(photo("coffee").resize((300, 200)), quality=60))
    other = hash_image(jpeg(photo("astronaut")))
    assert hamming(original.phash, smaller.phash) <= 6
    assert hamming(original.phash, other.phash) > 20


def test_mirror_matches_through_mirrored_hash() -> None:
    original = hash_image(jpeg(photo("chelsea")))
    flipped = hash_image(jpeg(mirrored(photo("chelsea"))))
    assert hamming(original.phash, flipped.phash) > 10
    assert hamming(original.phash_mirror, flipped.phash) <= 4


def test_white_border_is_trimmed() -> None:
    image = photo("astronaut")
    framed = Image.new("RGB", (int(image.width * 1.2), int(image.height * 1.2)), "white")
    framed.paste(image, (image.width // 10, image.height // 10))
    assert hamming(hash_image(jpeg(image)).phash, hash_image(jpeg(framed)).phash) <= 4


def test_decompression_bomb_rejected() -> None:
    bomb = Image.new("1", (30000, 30000), 0)
    data = io.BytesIO()
    bomb.save(data, format="PNG", optimize=True)
    with pytest.raises(ImageRejected) as caught:
        hash_image(data.getvalue())
    assert caught.value.status == ImageStatus.TOO_LARGE  # refused from the header's size, never decoded
    assert "pixel" in caught.value.reason


def test_truncated_jpeg_rejected() -> None:
    whole = jpeg(photo("coffee"))
    with pytest.raises(ImageRejected) as caught:
        hash_image(whole[: len(whole) // 2])
    assert caught.value.status == ImageStatus.CORRUPT
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_html_served_as_image() -> None:
    with pytest.raises(ImageRejected) as caught:
        hash_image(b"<!doctype html><html><body>404 not found</body></html>")
    assert caught.value.status == ImageStatus.NOT_IMAGE


@pytest.mark.parametrize("fmt", ["TIFF", "EPS", "BMP"])
def test_format_allowlist(fmt: str) -> None:
    out = io.BytesIO()
    photo("coffee").resize((64, 64)).save(out, format=fmt)
    with pytest.raises(ImageRejected) as caught:
        hash_image(out.getvalue())
    assert caught.value.status == ImageStatus.UNSUPPORTED_FORMAT


def test_svg_and_fits_rejected() -> None:
    for data in (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', b"SIMPLE  =                    T" + b" " * 200):
        with pytest.raises(ImageRejected) as caught:
            hash_image(data)
        assert caught.value.status in (ImageStatus.NOT_IMAGE, ImageStatus.UNSUPPORTED_FORMAT)


def test_animated_gif_reads_first_frame_only() -> None:
    frames = [Image.new("L", (64, 64), i % 256) for i in range(5000)]
    ImageDraw.Draw(frames[0]).rectangle((8, 8, 40, 40), fill=200)
    ImageDraw.Draw(frames[0]).ellipse((30, 10, 60, 50), fill=90)
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:])
    assert getattr(Image.open(io.BytesIO(out.getvalue())), "n_frames", 1) > 1000
    decoded, _size = decode(out.getvalue())
    assert decoded.size == (64, 64)
    first_frame_only = hash_image(out.getvalue())
    frame_zero = io.BytesIO()
    frames[0].save(frame_zero, format="GIF")
    assert first_frame_only.phash == hash_image(frame_zero.getvalue()).phash


def test_alpha_flattened_and_blank_gate() -> None:
    logo = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    draw = ImageDraw.Draw(logo)
    draw.ellipse((40, 40, 160, 160), fill=(200, 30, 30, 255))
    draw.rectangle((90, 20, 110, 180), fill=(20, 20, 160, 255))
    first, second = hash_image(png(logo)), hash_image(png(logo))
    assert int(first.phash, 16) != 0 and first.phash == second.phash
    for blank in (Image.new("RGB", (300, 300), "white"), Image.new("RGB", (300, 300), (12, 200, 40))):
        with pytest.raises(ImageRejected) as caught:
            hash_image(jpeg(blank))
        assert caught.value.status == ImageStatus.BLANK


def test_exif_orientation_applied() -> None:
    image = photo("chelsea")
    rotated = image.rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view": undoes the 90 degree counter-clockwise turn above
    tagged = jpeg(rotated, exif=exif.tobytes())
    assert hamming(hash_image(jpeg(image)).phash, hash_image(tagged).phash) <= 6


def test_size_cap() -> None:
    with pytest.raises(ImageRejected) as caught:
        hash_image(jpeg(photo("coffee")), max_bytes=1000)
    assert caught.value.status == ImageStatus.TOO_LARGE


def test_thumbnail_is_small_jpeg() -> None:
    result = hash_image(jpeg(photo("astronaut")), thumbnail=True)
    assert result.thumbnail is not None
    thumb = Image.open(io.BytesIO(result.thumbnail))
    assert thumb.format == "JPEG" and max(thumb.size) <= 256


def test_thumbnail_comes_from_a_reduced_decode_and_fits() -> None:
    # An 800-pixel photo decodes at 1/4 scale and is stored as decoded; a 640-pixel one (1/2 scale) is fitted.
    cases = ((800, (200, 200)), (1600, (200, 200)), (640, (256, 256)), (300, (256, 256)), (180, (180, 180)))
    for side, expected in cases:
        result = hash_image(jpeg(photo("coffee").resize((side, side))), thumbnail=True)
        assert result.thumbnail is not None and (result.width, result.height) == (side, side)
        assert Image.open(io.BytesIO(result.thumbnail)).size == expected, side


def test_mirrored_hashes_are_those_of_the_mirror_image() -> None:
    original = hash_image(jpeg(photo("astronaut")), thumbnail=True)
    flipped = hash_image(jpeg(mirrored(photo("astronaut"))), thumbnail=True)
    assert hamming(original.phash_mirror, flipped.phash) <= 4
    assert hamming(original.dhash_mirror, flipped.dhash) <= 8
    assert hamming(original.phash, flipped.phash) > 16
    assert original.hash_version == HASH_VERSION


def test_grey_draft_and_thumbnail_paths_agree() -> None:
    for name in ("coffee", "rocket", "chelsea"):
        data = jpeg(photo(name).resize((800, 800)), quality=88)
        fast, crawler = hash_image(data), hash_image(data, thumbnail=True)
        assert fast.thumbnail is None and crawler.thumbnail is not None
        assert hamming(fast.phash, crawler.phash) <= 4 and fast.sha256 == crawler.sha256


def _pillow_draft(data: bytes, side: int, mode: str) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.draft(mode, (side, side))
    return ImageOps.exif_transpose(image).convert(mode)


@pytest.mark.parametrize(("side", "options"), [
    (800, {}), (333, {}), (1000, {"subsampling": "4:2:2"}), (700, {"progressive": True, "subsampling": "4:4:4"}),
    (640, {"exif": b"orientation"}), (48, {}),
])
def test_jpeg_decode_is_pillows_draft_decode_bit_for_bit(side: int, options: dict[str, object]) -> None:
    # Stored hashes were made from Pillow's draft decode: the direct libjpeg-turbo decode must give the same pixels
    # at every scale, subsampling, progressive scan and EXIF orientation, or every stored hash would drift.
    if options.get("exif"):
        exif = Image.Exif()
        exif[0x0112] = 6
        options = {"exif": exif.tobytes()}
    for source in (photo("chelsea").resize((side, side * 3 // 4)), photo("camera").convert("L").resize((side, side))):
        data = jpeg(source, quality=85, **options)
        for mode, decode_side in (("L", 64), ("RGB", 200), ("RGB", 64)):
            ours, _ = decode(data, decode_side, mode=mode)
            theirs = _pillow_draft(data, decode_side, mode)
            assert ours.size == theirs.size and ours.mode == theirs.mode
            assert np.array_equal(np.asarray(ours), np.asarray(theirs)), (side, options, mode, decode_side)


def test_background_on_one_side_is_not_trimmed_but_a_frame_is() -> None:
    grey = np.full((100, 100), 200, dtype=np.uint8)
    grey[:, 40:] = np.random.default_rng(1).integers(0, 120, size=(100, 60))  # plain band on the left only
    assert content_box(grey) is None
    framed = np.full((100, 100), 255, dtype=np.uint8)
    framed[10:90, 12:88] = np.random.default_rng(2).integers(0, 200, size=(80, 76))
    assert content_box(framed) == (12, 10, 88, 90)
    sliver = framed.copy()
    sliver[:, :12] = 255
    sliver[10:90, 1:12] = 100  # a frame one pixel wide on the left is JPEG noise, not a frame
    assert content_box(sliver) == (0, 10, 100, 90)


def test_sniff_media_type_reads_the_bytes_not_a_label() -> None:
    assert sniff_media_type(jpeg(photo("coffee"))) == "image/jpeg"
    assert sniff_media_type(png(photo("coffee"))) == "image/png"
    webp = io.BytesIO()
    photo("coffee").save(webp, format="WEBP")
    assert sniff_media_type(webp.getvalue()) == "image/webp"
    assert sniff_media_type(b"<html>not a picture</html>") is None and sniff_media_type(b"") is None


def _sixteen_bit_png(grey: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(grey.astype(np.uint16)).save(out, format="PNG")
    return out.getvalue()


def test_sixteen_bit_grey_png_is_scaled_by_its_range_not_clipped() -> None:
    from skimage import data

    camera = data.camera()
    eight_bit = hash_image(png(Image.fromarray(camera)), thumbnail=True)
    for scale, offset in ((257, 0), (16, 0), (40, 9000)):  # full 16 bits, 12 bits, a narrow band high up
        wide = hash_image(_sixteen_bit_png(camera.astype(np.int64) * scale + offset), thumbnail=True)
        assert hamming(wide.phash, eight_bit.phash) <= 2 and hamming(wide.dhash, eight_bit.dhash) <= 2, scale
        assert wide.thumbnail is not None
        assert Image.open(io.BytesIO(wide.thumbnail)).mode == "RGB"
    # A flat 16-bit picture with a little noise stays flat: its range is shifted, never stretched into contrast.
    flat = 30000 + np.random.default_rng(3).integers(0, 24, size=(200, 300))
    with pytest.raises(ImageRejected) as caught:
        hash_image(_sixteen_bit_png(flat))
    assert caught.value.status == ImageStatus.BLANK


def _framed(image: Image.Image, *frames: tuple[float, int | tuple[int, int, int]]) -> Image.Image:
    """`image` inside each frame in turn, innermost first: (width as a share of the photo's side, colour)."""
    for share, colour in frames:
        image = ImageOps.expand(image, border=(round(image.width * share), round(image.height * share)),
                                fill=colour)
    return image


def test_nested_frames_are_trimmed_until_nothing_more_is() -> None:
    noise = np.random.default_rng(4).integers(0, 200, size=(60, 80), dtype=np.uint8)
    grey = np.asarray(_framed(Image.fromarray(noise), (0.1, 255), (0.08, 128), (0.05, 30)))
    left, top = 8 + 8 + 6, 6 + 6 + 4  # the three frames' widths: 10%, 8% and 5% of the side they were put round
    assert content_box(grey) == (left, top, left + 80, top + 60)
    # The brand's photo on a white mat, inside a seller's grey frame (and a blue one round that): the same hashes.
    # A large photo decodes at reduced scale, which blends the pixels across each frame's edge (without cutting
    # through that blend the inner frames stay: 24-36 bits away).
    for name, size in (("coffee", (300, 200)), ("astronaut", (900, 600)), ("chelsea", (600, 400)),
                       ("rocket", (900, 600))):
        brand = _framed(photo(name).resize(size), (0.15, (255, 255, 255)))
        reference = hash_image(jpeg(brand), thumbnail=True)
        for frames in (((0.06, (128, 128, 128)),), ((0.05, (150, 150, 150)), (0.04, (20, 40, 200)))):
            copy = hash_image(jpeg(_framed(brand, *frames)), thumbnail=True)
            assert hamming(copy.phash, reference.phash) <= 8 and hamming(copy.dhash, reference.dhash) <= 8, name
