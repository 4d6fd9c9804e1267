"""A notice as DOCX (python-docx), for legal staff to edit before filing. Same layout as the PDF."""

from __future__ import annotations

import io
import re
from typing import Any

from docx import Document
from docx.enum.text import WD_COLOR_INDEX
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from dashboard.notices.exports.layout import Bullets, Heading, Layout, Paragraph, Photos, Table

EAST_ASIAN_FONT = "SimSun"  # Word's usual Chinese face; LibreOffice substitutes Noto CJK
PHOTO_CM = 6.0
# Characters XML 1.0 cannot carry (stored text is already cleaned; this is the last guard).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("", text)


def _east_asian(style: Any) -> None:
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT)


def render_docx(layout: Layout) -> bytes:
    document = Document()
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3", "List Bullet"):
        _east_asian(document.styles[name])
    document.styles["Normal"].font.size = Pt(10)
    section = document.sections[0]
    section.left_margin = section.right_margin = Cm(1.8)
    document.core_properties.title = _xml(layout.title)[:255]
    document.core_properties.author = "BrandPatrol"
    document.add_heading(_xml(layout.title), level=0)
    for block in layout.blocks:
        if isinstance(block, Heading):
            document.add_heading(_xml(block.text), level=min(max(block.level, 1), 3))
        elif isinstance(block, Paragraph):
            paragraph = document.add_paragraph()
            lines = block.text.split("\n")
            for i, line in enumerate(lines):
                run = paragraph.add_run(_xml(line))
                run.bold = block.emphasis
                if i < len(lines) - 1:
                    run.add_break()
        elif isinstance(block, Bullets):
            for item in block.items:
                run = document.add_paragraph(style="List Bullet").add_run(_xml(item))
                if block.alert:
                    run.bold = True
                    run.font.highlight_color = WD_COLOR_INDEX.YELLOW
        elif isinstance(block, Table):
            table = document.add_table(rows=1, cols=len(block.header))
            table.style = document.styles["Table Grid"]
            for cell, text in zip(table.rows[0].cells, block.header, strict=True):
                cell.text = ""
                cell.paragraphs[0].add_run(_xml(text)).bold = True
            for values in block.rows:
                cells = table.add_row().cells
                for cell, text in zip(cells, values, strict=True):
                    cell.text = _xml(text)
        elif isinstance(block, Photos):
            for data in block.images:
                document.add_picture(io.BytesIO(data), width=Cm(PHOTO_CM))
            if block.caption:
                document.add_paragraph(_xml(block.caption))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
