"""The image signal's stronger parts: keypoint confirmation of borderline pairs, allow-listed photos, distrusted
and official-use references. Photos are made at run time from scikit-image samples."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from core.config import BrandConfig
from core.images import hamming, hash_image
from core.models import ImageStatus, Verdict
from matching.assess import assess
from matching.confirm import Confirmer, compare, keypoints_of
from matching.context import MatchContext
from matching.facts import ImageFacts, ListingFacts
from matching.references import ReferenceIndex, reference
from matching.signals import Outcome, image_signal
from tests.images import jpeg, photo
from tests.matching_kit import brand_dict, context_for, facts, genuine_photo, image_facts, make_config


def _stamped(image: Image.Image, text: str = "FACTORY DIRECT 1:1") -> Image.Image:
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    font = ImageFont.load_default(size=image.width // 10)
    for y in (image.height * 0.25, image.height * 0.6):
        draw.text((image.width * 0.05, y), text, font=font, fill=(255, 255, 255, 140), stroke_width=2,
                  stroke_fill=(40, 40, 40, 140))
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def _thumb(image: Image.Image) -> bytes:
    hashes = hash_image(jpeg(image), thumbnail=True)
    assert hashes.thumbnail is not None
    return hashes.thumbnail


def _flip(hex_hash: str, bits: int) -> str:
    value = int(hex_hash, 16)
    for bit in range(bits):
        value ^= 1 << (bit * 5 % 64)
    return f"{value:016x}"


def test_keypoints_confirm_a_cropped_stamped_copy_and_refute_another_photo() -> None:
    coffee = photo("coffee")
    w, h = coffee.size
    copy = _stamped(coffee.crop((int(w * 0.1), 0, w, int(h * 0.9))).rotate(4, fillcolor=(255, 255, 255)))
    reference_points = keypoints_of(_thumb(coffee))
    copy_points, other_points = keypoints_of(_thumb(copy)), keypoints_of(_thumb(photo("astronaut")))
    assert reference_points is not None and copy_points is not None and other_points is not None
    same = compare(copy_points, reference_points)
    assert same.confirmed and same.inliers >= 20
    assert same.turn is not None and 2 <= abs(same.turn) <= 6  # the 4 degree tilt, recovered
    assert same.describe().startswith(f"confirmed by {same.inliers} matching keypoints (scale")
    other = compare(other_points, reference_points)
    assert not other.confirmed and not other.inconclusive
    mirrored = compare(keypoints_of(_thumb(coffee.transpose(Image.Transpose.FLIP_LEFT_RIGHT))) or copy_points,
                       keypoints_of(_thumb(coffee), mirrored=True) or reference_points)
    assert mirrored.confirmed


def test_plain_photos_are_inconclusive_not_refuted() -> None:
    flat = Image.merge("RGB", [Image.linear_gradient("L").resize((400, 400)).rotate(angle) for angle in (0, 90, 45)])
    points = keypoints_of(_thumb(flat))
    assert points is not None
    result = compare(points, points)
    assert result.inconclusive and not result.confirmed
    assert "too plain" in result.describe()


@pytest.fixture(scope="module")
def coffee_reference() -> ReferenceIndex:
    hashes = hash_image(jpeg(photo("coffee"), quality=95), thumbnail=True)
    made = reference(1, "LM-100-front", "LM-100", hashes.phash, hashes.dhash, hashes.phash_mirror, hashes.thumbnail)
    assert made is not None
    return ReferenceIndex([made])


def test_borderline_pair_matches_only_when_keypoints_confirm(coffee_reference: ReferenceIndex) -> None:
    # A stamped copy whose stored hash sits 14 bits away: past the threshold, inside the confirm distance.
    copy = hash_image(jpeg(_stamped(photo("coffee"))), thumbnail=True)
    ref = coffee_reference.references[0]
    far_phash = _flip(f"{ref.views[0].phash:016x}", 14)
    same_dhash = f"{ref.views[0].dhash:016x}"
    listing = ImageFacts(5, 0, ImageStatus.OK.value, far_phash, same_dhash, None, copy.thumbnail, copy.sha256)
    confirmed = image_signal([listing], coffee_reference, 10, confirm_distance=18, confirmer=Confirmer())
    assert confirmed.outcome is Outcome.MATCH and confirmed.measure == 14
    assert "at distance 14, confirmed by" in confirmed.reason and "matching keypoints" in confirmed.reason
    assert confirmed.evidence["keypoints"]["confirmed"] is True
    assert confirmed.evidence["matched_by_sku"]["LM-100"]["confirmed_by_keypoints"] is True

    no_thumbnail = ImageFacts(5, 0, ImageStatus.OK.value, far_phash, same_dhash, None, None, copy.sha256)
    unchecked = image_signal([no_thumbnail], coffee_reference, 10, confirm_distance=18, confirmer=Confirmer())
    assert unchecked.outcome is Outcome.NO_MATCH
    assert "without both thumbnails it could not be checked by keypoints" in unchecked.reason

    other = hash_image(jpeg(photo("astronaut")), thumbnail=True)
    impostor = ImageFacts(6, 0, ImageStatus.OK.value, far_phash, same_dhash, None, other.thumbnail, other.sha256)
    refuted = image_signal([impostor], coffee_reference, 10, confirm_distance=18, confirmer=Confirmer())
    assert refuted.outcome is Outcome.NO_MATCH and "was checked by keypoints and not confirmed" in refuted.reason
    # Past the confirm distance nothing is checked at all.
    farther = ImageFacts(5, 0, ImageStatus.OK.value, _flip(far_phash, 0), same_dhash, None, copy.thumbnail)
    assert image_signal([farther], coffee_reference, 10, confirm_distance=12).outcome is Outcome.NO_MATCH


def test_tilted_copy_is_matched_and_said(coffee_reference: ReferenceIndex) -> None:
    tilted = photo("coffee").rotate(6, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255))
    result = image_signal([image_facts(tilted)], coffee_reference, 10, confirm_distance=18, confirmer=Confirmer())
    assert result.outcome is Outcome.MATCH, result.reason
    assert "after rotating by" in result.reason


def test_allow_listed_photo_and_distrusted_reference_prove_nothing(coffee_reference: ReferenceIndex) -> None:
    copy = image_facts(photo("coffee"))
    assert copy.sha256 is not None
    ignored = image_signal([copy], coffee_reference, 10, allowed_sha256={copy.sha256})
    assert ignored.outcome is Outcome.UNKNOWN and "on the brand's allow-list of official images" in ignored.reason
    distrusted = image_signal([copy], coffee_reference, 10, distrusted={"LM-100-front"})
    assert distrusted.outcome is Outcome.UNKNOWN and "distrusted by the flood guard" in distrusted.reason
    assert distrusted.evidence["distrusted_references"] == ["LM-100-front"]
    assert image_signal([copy], coffee_reference, 10).outcome is Outcome.MATCH


def test_official_use_photo_identifies_but_is_not_held_against_the_seller(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    data = brand_dict()
    data["products"][0]["reference_images"][0]["official_use_ok"] = True
    config: BrandConfig = make_config(tmp_path_factory.mktemp("brand"), data)
    official: MatchContext = context_for(config)
    plain: MatchContext = context_for(make_config(tmp_path_factory.mktemp("brand2")))
    listing = facts("露米娜焕活精华液", price="680", seller=("美妆小铺3", "x-3"), images=(genuine_photo(),))
    with_official, with_plain = assess(listing, official), assess(listing, plain)
    assert with_official.verdict.verdict is with_plain.verdict.verdict is Verdict.DIVERSION
    assert "the brand lets resellers use this photo" in with_official.signals.image.reason
    assert with_official.verdict.score < with_plain.verdict.score
    # The photo alone still says which product an unbranded listing is.
    unbranded = ListingFacts(**{**listing.__dict__, "title": "大牌平替 同款精华 30ml"})
    assert assess(unbranded, official).sku == "LM-100"


def test_official_images_config_lists_sha256(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = brand_dict()
    sha = hash_image(jpeg(genuine_photo()), thumbnail=True).sha256
    data["allow_list"] = {"images": [sha.upper()]}
    ctx = context_for(make_config(tmp_path_factory.mktemp("brand"), data))
    assert ctx.allowed_sha256 == {sha}
    result = assess(facts("大牌平替 同款精华 30ml", images=(genuine_photo(),)), ctx)
    assert result.verdict.verdict is Verdict.UNRELATED  # the only tie to the brand was an allow-listed photo
    buffer = io.BytesIO()
    genuine_photo().save(buffer, format="PNG")
    assert hash_image(buffer.getvalue()).sha256 != sha  # other bytes of the same photo are not allow-listed


# Each orientation a seller may post the brand's photo in, and how the reason names it.
ORIENTED = (
    (Image.Transpose.FLIP_LEFT_RIGHT, "at distance {d} after mirroring"),
    (Image.Transpose.ROTATE_270, "LM-100-front turned 90° clockwise at distance"),
    (Image.Transpose.ROTATE_180, "LM-100-front turned 180° at distance"),
    (Image.Transpose.ROTATE_90, "LM-100-front turned 90° anticlockwise at distance"),
    (Image.Transpose.FLIP_TOP_BOTTOM, "LM-100-front flipped top to bottom at distance"),
    (Image.Transpose.TRANSPOSE, "LM-100-front flipped across its top-left to bottom-right diagonal at distance"),
    (Image.Transpose.TRANSVERSE, "LM-100-front flipped across its top-right to bottom-left diagonal at distance"),
)


@pytest.mark.parametrize(("transpose", "said"), ORIENTED, ids=[t.name for t, _ in ORIENTED])
def test_a_photo_turned_or_flipped_any_way_matches_and_says_how(coffee_reference: ReferenceIndex,
                                                                transpose: Image.Transpose, said: str) -> None:
    copy = image_facts(photo("coffee").transpose(transpose))
    upright = hash_image(jpeg(photo("coffee")), thumbnail=True)
    assert copy.phash is not None and hamming(copy.phash, upright.phash) > 18  # the hash alone is far
    result = image_signal([copy], coffee_reference, 10, confirm_distance=18, confirmer=Confirmer())
    assert result.outcome is Outcome.MATCH, result.reason
    assert result.measure is not None and result.measure <= 10
    assert said.format(d=int(result.measure)) in result.reason
    assert result.evidence["keypoints"] is None  # near enough by hash: no keypoint check
    expected = said.split(" at distance")[0].removeprefix("LM-100-front ")
    assert result.evidence["orientation"] == ("upright" if transpose is Image.Transpose.FLIP_LEFT_RIGHT else expected)
    # An unrelated photo turned the same way matches nothing.
    other = image_facts(photo("astronaut").transpose(transpose))
    assert image_signal([other], coffee_reference, 10, confirm_distance=18,
                        confirmer=Confirmer()).outcome is Outcome.NO_MATCH


def test_keypoints_confirm_a_right_angle_turn_only_when_the_view_stands_for_it() -> None:
    coffee = photo("coffee")
    reference_points, mirrored_points = keypoints_of(_thumb(coffee)), keypoints_of(_thumb(coffee), mirrored=True)
    turned, flipped = keypoints_of(_thumb(coffee.transpose(Image.Transpose.ROTATE_90))), keypoints_of(
        _thumb(coffee.transpose(Image.Transpose.FLIP_TOP_BOTTOM)))
    assert reference_points and mirrored_points and turned and flipped
    assert not compare(turned, reference_points).confirmed  # a crop or a tilt never turns a photo by 90°
    assert compare(turned, reference_points, turn=90).confirmed
    assert not compare(turned, reference_points, turn=-90).confirmed
    assert compare(flipped, mirrored_points, mirrored=True, turn=180).confirmed  # the mirror turned by 180°


@pytest.mark.parametrize("canvas", [False, True], ids=["cut to the frame", "on a larger canvas"])
def test_a_photo_turned_15_to_45_degrees_matches_when_keypoints_confirm(coffee_reference: ReferenceIndex,
                                                                        canvas: bool) -> None:
    for angle in (-40.0, -17.0, 26.0, 33.0):
        turned = photo("coffee").rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255),
                                        expand=canvas)
        result = image_signal([image_facts(turned)], coffee_reference, 10, confirm_distance=18,
                              confirmer=Confirmer())
        assert result.outcome is Outcome.MATCH, (angle, result.reason)
        assert "after rotating by" in result.reason and "confirmed by" in result.reason
        assert result.evidence["keypoints"]["confirmed"] is True
        assert abs(result.evidence["keypoints"]["turn"] - angle) <= 3


def test_a_wide_turn_view_never_matches_on_the_hash_alone(coffee_reference: ReferenceIndex) -> None:
    ref = coffee_reference.references[0]
    wide = next(v for v in ref.views if v.requires_keypoints and v.turn == 30.0)
    as_hex = f"{wide.phash:016x}", f"{wide.dhash:016x}"
    # The very hash of the reference turned by 30°, without thumbnails to check: no match.
    bare = ImageFacts(7, 0, ImageStatus.OK.value, *as_hex, None, None, "a" * 64)
    result = image_signal([bare], coffee_reference, 10, confirm_distance=18, confirmer=Confirmer())
    assert result.outcome is Outcome.NO_MATCH
    assert ("at distance 0 after rotating by +30°, a turn only keypoints can confirm, and without both thumbnails it "
            "could not be checked by keypoints") in result.reason
    # With another photo's thumbnail the keypoints disagree: no match either.
    other = hash_image(jpeg(photo("astronaut")), thumbnail=True)
    impostor = ImageFacts(8, 0, ImageStatus.OK.value, *as_hex, None, other.thumbnail, other.sha256)
    refuted = image_signal([impostor], coffee_reference, 10, confirm_distance=18, confirmer=Confirmer())
    assert refuted.outcome is Outcome.NO_MATCH and "was checked by keypoints and not confirmed" in refuted.reason
    # Nor does it set a photo aside as the brand's own when seller networks are drawn.
    given = ref.views[0]
    phashes, dhashes = np.array([wide.phash, given.phash], np.uint64), np.array([wide.dhash, given.dhash], np.uint64)
    assert coffee_reference.matches_any(phashes, dhashes, 18).tolist() == [False, True]


def test_a_turn_on_a_white_canvas_is_not_lost_to_a_degenerate_fit() -> None:
    # A brick wall turned on white: many of its look-alike keypoints match one reference keypoint, and without
    # one match per reference keypoint RANSAC's best fit squeezes them onto that point (scale 0).
    brick = photo("brick").crop((0, 0, 256, 256)).resize((640, 640))
    reference_points = keypoints_of(_thumb(brick))
    assert reference_points is not None
    for angle in (-40.0, 20.0):
        turned = brick.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255), expand=True)
        points = keypoints_of(_thumb(turned))
        assert points is not None
        result = compare(points, reference_points, turn=angle)
        assert result.confirmed, (angle, result.describe())
        assert result.scale is not None and 1.2 <= result.scale <= 1.7  # the photo is smaller on its canvas
