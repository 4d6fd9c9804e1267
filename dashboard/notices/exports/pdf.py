"""A notice as PDF (fpdf2), set in Noto Sans CJK SC with the font embedded, so Chinese text shows anywhere.

Text is only ever text here: no markdown, no links (a scraped URL is printed, never made clickable), and images
come only from stored bytes that were decoded and re-encoded when they were saved.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import Align, WrapMode, XPos, YPos
from fpdf.fonts import FontFace as PdfFontFace

from dashboard.notices.exports.fonts import truetype_subset
from dashboard.notices.exports.layout import Bullets, Heading, Layout, Paragraph, Photos, Table

FAMILY = "notocjk"
BODY_PT = 9.5
LINE_MM = 4.6
PHOTO_MM = 55
HEADING_PT = {1: 15.0, 2: 12.5, 3: 10.5}
KEEP_WITH_NEXT_MM = 30


class _NoticePdf(FPDF):
    def __init__(self, title: str, regular: Path, bold: Path):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc_title = title
        self.set_margins(16, 16, 16)
        self.set_auto_page_break(auto=True, margin=16)
        self.add_font(FAMILY, "", str(regular))
        self.add_font(FAMILY, "B", str(bold))
        self.set_title(title)
        self.set_creator("BrandPatrol")

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(FAMILY, "", 7.5)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, f"{self.doc_title} · page {self.page_no()}/{{nb}}", align=Align.C)
        self.set_text_color(0, 0, 0)


def _text(pdf: FPDF, text: str, *, size: float = BODY_PT, bold: bool = False, line: float = LINE_MM,
          **kwargs: Any) -> None:
    pdf.set_font(FAMILY, "B" if bold else "", size)
    pdf.multi_cell(0, line, text, align=Align.L, wrapmode=WrapMode.WORD, new_x=XPos.LMARGIN, new_y=YPos.NEXT,
                   markdown=False, **kwargs)


def _heading(pdf: FPDF, block: Heading) -> None:
    size = HEADING_PT.get(block.level, BODY_PT)
    if pdf.will_page_break(KEEP_WITH_NEXT_MM):  # never a heading alone at the foot of a page
        pdf.add_page()
    pdf.ln(2.5 if block.level > 1 else 0)
    _text(pdf, block.text, size=size, bold=True, line=size * 0.5)
    pdf.ln(1.2)


def _bullets(pdf: FPDF, block: Bullets) -> None:
    if block.alert:
        pdf.set_fill_color(255, 243, 205)
        pdf.set_draw_color(214, 158, 46)
        for item in block.items:
            _text(pdf, f"! {item}", fill=True, border=1, padding=1.5)
            pdf.ln(1)
        pdf.set_draw_color(0, 0, 0)
        return
    for item in block.items:
        _text(pdf, f"• {item}")
    pdf.ln(1)


def _table(pdf: FPDF, block: Table) -> None:
    pdf.set_font(FAMILY, "", 7.5)
    with pdf.table(
        col_widths=block.widths,
        wrapmode=WrapMode.WORD,  # a word wider than its cell (a URL, a Chinese title) still breaks
        text_align="LEFT",
        line_height=3.6,
        padding=0.8,
        headings_style=PdfFontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
        markdown=False,
    ) as table:
        table.row(list(block.header))
        for values in block.rows:
            table.row(list(values))
    pdf.ln(2)


def _photos(pdf: FPDF, block: Photos) -> None:
    x0 = pdf.l_margin
    x = x0
    row_height = 0.0
    for data in block.images:
        height = _size_mm(data)
        if x + PHOTO_MM > pdf.w - pdf.r_margin:
            x = x0
            pdf.set_y(pdf.get_y() + row_height + 2)
            row_height = 0.0
        if pdf.will_page_break(height):
            pdf.add_page()
        pdf.image(io.BytesIO(data), x=x, y=pdf.get_y(), w=PHOTO_MM)
        row_height = max(row_height, height)
        x += PHOTO_MM + 3
    pdf.set_y(pdf.get_y() + row_height + 1)
    if block.caption:
        _text(pdf, block.caption, size=7.5)
    pdf.ln(2)


def _size_mm(data: bytes) -> float:
    """Height in mm of a photo drawn PHOTO_MM wide (bytes were re-encoded on storage; this reads the header)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    return PHOTO_MM * height / max(width, 1)


def _all_text(layout: Layout) -> str:
    parts = [layout.title]
    for block in layout.blocks:
        if isinstance(block, Heading | Paragraph | Photos):
            parts.append(block.caption if isinstance(block, Photos) else block.text)
        elif isinstance(block, Bullets):
            parts += block.items
        elif isinstance(block, Table):
            parts += block.header
            parts += [cell for row in block.rows for cell in row]
    return "".join(parts)


def render_pdf(layout: Layout) -> bytes:
    text = _all_text(layout)
    with truetype_subset(text) as regular, truetype_subset(text, bold=True) as bold:
        return _render(layout, regular, bold)


def _render(layout: Layout, regular: Path, bold: Path) -> bytes:
    pdf = _NoticePdf(layout.title, regular, bold)
    pdf.alias_nb_pages()
    pdf.add_page()
    _text(pdf, layout.title, size=HEADING_PT[1], bold=True, line=7)
    pdf.ln(2)
    for block in layout.blocks:
        if isinstance(block, Heading):
            _heading(pdf, block)
        elif isinstance(block, Paragraph):
            _text(pdf, block.text, bold=block.emphasis)
            pdf.ln(1.5)
        elif isinstance(block, Bullets):
            _bullets(pdf, block)
        elif isinstance(block, Table):
            _table(pdf, block)
        elif isinstance(block, Photos):
            _photos(pdf, block)
    return bytes(pdf.output())
