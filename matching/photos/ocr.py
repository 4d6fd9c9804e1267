"""The OCR engine: RapidOCR running PP-OCR's detection, direction and recognition models on onnxruntime's CPU.

The models are the ones the rapidocr wheel ships (Chinese and English in one recognition model), or those in
Settings.ocr_model_dir. Each model is passed by its path, so RapidOCR never takes its download branch: nothing is
fetched at run time. Loading runs a self-test (a generated line of text must be read back), so a broken or
missing model fails at once with OcrUnavailable naming the folder and the fix, not on the first listing photo.

Time per photo is bounded by what goes in: the picture is scaled to Settings.ocr_max_side pixels on its longest
side (text on a pack stays legible at 960), which bounds detection; recognition runs on the lines detected.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.images import fit_within
from matching.photos.reading import TextLine

DET_MODEL = "PP-OCRv6_det_small.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
SELF_TEST_TEXT = "OCR 2026"
MIN_CONFIDENCE = 0.5  # lines read less surely than this are left out (RapidOCR's own default text_score)


class OcrUnavailable(RuntimeError):
    """The OCR engine cannot run: models missing or unloadable. Matching goes on without reading photos."""


def bundled_model_dir() -> Path:
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models"


def _version() -> str:
    import rapidocr

    return str(getattr(rapidocr, "__version__", None) or metadata.version("rapidocr"))


class OcrEngine:
    """Reads the lines of text on an upright RGB picture; `name` identifies engine and models for the cache."""

    def __init__(self, model_dir: Path | None = None, *, max_side: int = 960):
        folder = model_dir or bundled_model_dir()
        fix = ("set BRANDPATROL_OCR_MODEL_DIR to a folder holding the PP-OCR ONNX models "
               f"({DET_MODEL}, {CLS_MODEL}, {REC_MODEL}), or unset it to use the models the rapidocr wheel ships "
               "(pip install rapidocr)")
        paths = {part: folder / name for part, name in (("Det", DET_MODEL), ("Cls", CLS_MODEL), ("Rec", REC_MODEL))}
        missing = [p.name for p in paths.values() if not p.is_file()]
        if missing:
            raise OcrUnavailable(f"OCR models not found in {folder}: {', '.join(missing)} missing; {fix}")
        self.max_side = max_side
        self.name = f"rapidocr {_version()}; {DET_MODEL}, {REC_MODEL}; side {max_side}"[:120]
        try:
            from rapidocr import RapidOCR

            params: dict[str, object] = {f"{part}.model_path": str(path) for part, path in paths.items()}
            params.update({"Global.log_level": "error", "Global.max_side_len": max(max_side, 2000)})
            self._engine = RapidOCR(params=params)
            read = self.read(_self_test_picture())
        except Exception as exc:  # onnxruntime and RapidOCR raise many kinds on a bad model file
            raise OcrUnavailable(f"OCR models in {folder} failed to load ({type(exc).__name__}: "
                                 f"{str(exc)[:200]}); {fix}") from None
        if not any("2026" in line.text for line in read):
            raise OcrUnavailable(f"OCR models in {folder} loaded but read nothing on a test line; {fix}")

    def read(self, picture: Image.Image) -> list[TextLine]:
        """The lines on `picture` (RGB, upright), boxes in its own pixels, most confident first."""
        small = fit_within(picture, self.max_side)
        scale = small.width / picture.width
        bgr = np.ascontiguousarray(np.asarray(small.convert("RGB"))[:, :, ::-1])
        out = self._engine(bgr)
        texts: Sequence[str] = out.txts or ()  # type: ignore[union-attr]
        scores: Sequence[float] = out.scores or ()  # type: ignore[union-attr]
        boxes = out.boxes if out.boxes is not None else ()  # type: ignore[union-attr]
        lines = []
        for text, score, box in zip(texts, scores, boxes, strict=False):
            if not str(text).strip() or float(score) < MIN_CONFIDENCE:
                continue
            corners = tuple((round(float(x) / scale), round(float(y) / scale)) for x, y in box)
            lines.append(TextLine(str(text).strip()[:200], float(score), corners))
        return lines


def _self_test_picture() -> Image.Image:
    picture = Image.new("RGB", (360, 110), "white")
    ImageDraw.Draw(picture).text((20, 20), SELF_TEST_TEXT, fill="black", font=ImageFont.load_default(size=56))
    return picture


@lru_cache(maxsize=2)
def shared_engine(model_dir: Path | None, max_side: int) -> OcrEngine:
    """One engine per process and model set: loading and the self-test cost about a second, and onnxruntime's
    sessions are safe to share between calls. A failed load is not cached (lru_cache keeps no exceptions)."""
    return OcrEngine(model_dir, max_side=max_side)
