"""A4 business documents (receipts, invoices, credit notes) as PDF, in pure Python with fpdf2.

Why fpdf2 and a font in the repository (see README, "Why each dependency is there"):
- WeasyPrint would let the documents reuse the HTML templates, but it needs Pango from the
  operating system: `python3 dev.py run` would no longer need nothing but Python.
- ReportLab embeds only TrueType outlines; Noto Sans CJK, the font that covers Chinese, is
  OpenType/CFF. Its fallback, the non-embedded Adobe CJK fonts (STSong-Light), prints nothing in
  viewers without Adobe's language packs: poppler says "Missing language pack for 'Adobe-GB1'".
- fpdf2 is pure Python (fontTools, Pillow, defusedxml: all wheels), embeds a subset of any
  OpenType font, CFF included, and writes a ToUnicode map, so text can be searched and copied.
The font is a cut-down Noto Sans CJK SC (portal/lib/fonts, built by build.py there): the same
glyphs on every machine, with or without system fonts, so a document looks the same wherever and
whenever it is rendered.

Nothing here knows about orders or invoices: billing composes the documents from these blocks.
"""

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF, FontFace
from fpdf.enums import Align, TableBordersLayout, XPos, YPos

FONTS = Path(__file__).resolve().parent / "fonts"
REGULAR = FONTS / "NotoSansCJKsc-Regular-subset.ttf"
BOLD = FONTS / "NotoSansCJKsc-Bold-subset.ttf"
FAMILY = "PortalSans"

INK = (23, 31, 42)
MUTED = (92, 102, 117)
RULE = (206, 212, 222)
ACCENT = (11, 83, 148)
WASH = (241, 244, 248)
MARGIN = 16  # mm


@dataclass(frozen=True)
class Cell:
    text: str
    align: str = "L"  # "L" or "R"
    bold: bool = False


def clean_text(value: str) -> str:
    """Printable text only: control characters (a pasted tab, a zero-width joiner) dropped,
    line breaks kept, everything normalised to NFC so each glyph is found in the font."""
    value = unicodedata.normalize("NFC", str(value))
    return "".join(
        character for character in value if character == "\n" or unicodedata.category(character)[0] != "C"
    ).strip()


@lru_cache(maxsize=2)
def font_codepoints(path: Path = REGULAR) -> frozenset[int]:
    """Every character a face can draw (the regular one by default: what can print at all)."""
    return frozenset(TTFont(path, lazy=True).getBestCmap())


def unprintable_characters(value: str) -> set[str]:
    """Characters of `value` the documents' font has no glyph for (line breaks aside)."""
    known = font_codepoints()
    return {character for character in clean_text(value) if character != "\n" and ord(character) not in known}


class _Canvas(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, size=7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 4, self.footer_text, align=Align.L)
        self.set_x(-MARGIN - 20)
        self.cell(20, 4, f"{self.page_no()}/{{nb}}", align=Align.R)


class PdfDocument:
    """One document, built top to bottom from a few blocks, then `output()` as bytes."""

    def __init__(self, *, title: str, author: str, language: str, created_at: datetime, footer: str = ""):
        pdf = _Canvas(orientation="P", unit="mm", format="A4")
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.set_auto_page_break(auto=True, margin=18)
        pdf.add_font(FAMILY, "", REGULAR)
        pdf.add_font(FAMILY, "B", BOLD)
        pdf.set_title(clean_text(title))
        pdf.set_author(clean_text(author))
        pdf.set_creator(clean_text(author))
        pdf.set_lang(language)
        pdf.set_creation_date(created_at)  # the document's own date: the same bytes every time
        pdf.footer_text = clean_text(footer)
        pdf.alias_nb_pages()
        pdf.add_page()
        self.pdf = pdf

    @property
    def width(self) -> float:
        return self.pdf.epw

    @staticmethod
    def _bold_can_draw(text: str) -> bool:
        # The bold face holds Latin and GB 2312 only: text with a rarer character stays regular.
        return set(map(ord, text)) - {10} <= font_codepoints(BOLD)

    def _font(
        self, *, size: float, bold: bool = False, color: tuple[int, int, int] = INK, text: str = ""
    ) -> None:
        if bold and text and not self._bold_can_draw(clean_text(text).upper()):
            bold = False
        self.pdf.set_font(FAMILY, "B" if bold else "", size)
        self.pdf.set_text_color(*color)

    def banner(self, text: str) -> None:
        """A coloured strip across the top, e.g. "SPECIMEN" on a sample document."""
        self._font(size=9, bold=True, color=(255, 255, 255), text=text)
        self.pdf.set_fill_color(180, 35, 24)
        self.pdf.multi_cell(
            0, 6, clean_text(text), align=Align.C, fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.pdf.set_fill_color(255, 255, 255)
        self.pdf.ln(3)

    def heading(self, *, title: str, subtitle: str, aside: Sequence[str] = ()) -> None:
        """Document title and number on the left, the issuer's block on the right."""
        top = self.pdf.get_y()
        left_width = self.width * 0.52
        self._font(size=18, bold=True, color=ACCENT, text=title)
        self.pdf.multi_cell(left_width, 8, clean_text(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._font(size=11, bold=True, text=subtitle)
        self.pdf.multi_cell(left_width, 6, clean_text(subtitle), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        left_bottom = self.pdf.get_y()
        self.pdf.set_xy(MARGIN + left_width + 4, top)
        for index, line in enumerate(aside):
            self._font(
                size=9 if index else 10, bold=index == 0, color=INK if index == 0 else MUTED, text=line
            )
            self.pdf.set_x(MARGIN + left_width + 4)
            self.pdf.multi_cell(
                self.width - left_width - 4,
                4.6,
                clean_text(line),
                align=Align.R,
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
        self.pdf.set_y(max(left_bottom, self.pdf.get_y()) + 4)
        self.rule()

    def rule(self) -> None:
        self.pdf.set_draw_color(*RULE)
        self.pdf.set_line_width(0.3)
        y = self.pdf.get_y()
        self.pdf.line(MARGIN, y, MARGIN + self.width, y)
        self.pdf.ln(4)

    def columns(self, blocks: Sequence[tuple[str, Sequence[str]]]) -> None:
        """Side-by-side blocks (seller | buyer): a small label, then lines; the first line bold."""
        top = self.pdf.get_y()
        gap = 6
        block_width = (self.width - gap * (len(blocks) - 1)) / max(len(blocks), 1)
        bottom = top
        for index, (label, lines) in enumerate(blocks):
            x = MARGIN + index * (block_width + gap)
            self.pdf.set_xy(x, top)
            self._font(size=7.5, bold=True, color=MUTED, text=label)
            self.pdf.multi_cell(block_width, 4, clean_text(label).upper(), new_x=XPos.LEFT, new_y=YPos.NEXT)
            self.pdf.ln(0.8)
            for line_number, line in enumerate(lines):
                self.pdf.set_x(x)
                self._font(size=10 if line_number == 0 else 9, bold=line_number == 0, text=line)
                self.pdf.multi_cell(
                    block_width,
                    4.8,
                    clean_text(line),
                    new_x=XPos.LEFT,
                    new_y=YPos.NEXT,
                )
            bottom = max(bottom, self.pdf.get_y())
        self.pdf.set_xy(MARGIN, bottom + 5)

    def facts(self, rows: Sequence[tuple[str, str]], *, per_row: int = 3) -> None:
        """Label / value pairs in a grid: the small grey label above its value."""
        gap = 4
        width = (self.width - gap * (per_row - 1)) / per_row
        for start in range(0, len(rows), per_row):
            top = self.pdf.get_y()
            bottom = top
            for index, (label, value) in enumerate(rows[start : start + per_row]):
                x = MARGIN + index * (width + gap)
                self.pdf.set_xy(x, top)
                self._font(size=7.5, color=MUTED)
                self.pdf.multi_cell(width, 3.6, clean_text(label), new_x=XPos.LEFT, new_y=YPos.NEXT)
                self._font(size=9.5)
                self.pdf.multi_cell(width, 4.8, clean_text(value), new_x=XPos.LEFT, new_y=YPos.NEXT)
                bottom = max(bottom, self.pdf.get_y())
            self.pdf.set_xy(MARGIN, bottom + 2.5)
        self.pdf.ln(2)

    def table(
        self, *, headings: Sequence[Cell], rows: Sequence[Sequence[Cell]], widths: Sequence[float]
    ) -> None:
        """A ruled table; `widths` are fractions of the page width."""
        self._font(size=9)
        self.pdf.set_draw_color(*RULE)
        with self.pdf.table(
            col_widths=tuple(widths),
            width=self.width,
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
            headings_style=FontFace(
                emphasis="BOLD" if all(self._bold_can_draw(cell.text) for cell in headings) else None,
                color=INK,
                fill_color=WASH,
                size_pt=8,
            ),
            line_height=4.6,
            padding=(1.6, 1.8),
            text_align=tuple(cell.align for cell in headings),
            v_align="TOP",
        ) as table:
            heading_row = table.row()
            for cell in headings:
                heading_row.cell(clean_text(cell.text), align=Align.coerce(cell.align))
            for row in rows:
                table_row = table.row()
                for cell in row:
                    style = (
                        FontFace(emphasis="BOLD") if cell.bold and self._bold_can_draw(cell.text) else None
                    )
                    table_row.cell(clean_text(cell.text), align=Align.coerce(cell.align), style=style)
        self.pdf.ln(3)

    def totals(self, rows: Sequence[tuple[str, str, bool]]) -> None:
        """Right-aligned label / amount lines; the bold ones framed as the total."""
        label_width, amount_width = self.width * 0.42, self.width * 0.18
        x = MARGIN + self.width - label_width - amount_width
        for label, amount, strong in rows:
            y = self.pdf.get_y()
            if strong:
                self.pdf.set_fill_color(*WASH)
                self.pdf.rect(x, y, label_width + amount_width, 7.5, style="F")
            self.pdf.set_xy(x + 2, y + (1.2 if strong else 0.4))
            self._font(size=10 if strong else 9, bold=strong, color=INK if strong else MUTED, text=label)
            self.pdf.multi_cell(label_width - 2, 5, clean_text(label), new_x=XPos.RIGHT, new_y=YPos.TOP)
            label_bottom = self.pdf.get_y()
            self.pdf.set_xy(x + label_width, y + (1.2 if strong else 0.4))
            self._font(size=10 if strong else 9, bold=strong, text=amount)
            self.pdf.cell(amount_width - 2, 5, clean_text(amount), align=Align.R)
            self.pdf.set_xy(MARGIN, max(label_bottom, y + (7.5 if strong else 5.6)) + (1.5 if strong else 0))
        self.pdf.ln(3)

    def paragraph(self, text: str, *, small: bool = False, bold: bool = False) -> None:
        self._font(size=7.8 if small else 9, bold=bold, color=MUTED if small else INK, text=text)
        self.pdf.multi_cell(0, 3.9 if small else 4.6, clean_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(1.5)

    def output(self) -> bytes:
        return bytes(self.pdf.output())
