"""Rebuild the PDF fonts in this folder from Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk).

    .venv/bin/python portal/lib/fonts/build.py

Noto Sans CJK SC (SIL Open Font License 1.1, see OFL.txt) is cut down to what invoices and receipts
print, so the repository carries about 9 MB instead of 40 MB and needs no font on the machine:
- Regular: Latin, punctuation, currency signs, kana and every CJK Unified Ideograph in the basic
  block (U+4E00-U+9FFF: simplified and traditional Chinese, Japanese kanji), so any company name
  in those scripts prints.
- Bold (headings and labels): Latin and the 6,763 characters of GB 2312; a rarer character in a
  bold label falls back to the Regular face (portal/lib/pdf.py).
Hinting and OpenType layout tables are dropped: a PDF viewer scales outlines and needs neither.
The CFF outlines are converted to TrueType (quadratic) ones: fpdf2 then embeds the font the way
every PDF reader knows best (CIDFontType2, Identity-H), and text extraction (pypdf, accounting
tools) reads it back exactly; the CID-keyed CFF path left readers such as pypdf with NUL bytes
between the characters.
"""

from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable

SOURCE = Path("/usr/share/fonts/opentype/noto")
HERE = Path(__file__).resolve().parent

LATIN_AND_SYMBOLS = [
    (0x20, 0x7E),  # Basic Latin
    (0xA0, 0x24F),  # Latin-1 Supplement, Latin Extended-A and -B
    (0x2000, 0x206F),  # General Punctuation
    (0x20A0, 0x20BF),  # Currency Symbols
    (0x2100, 0x214F),  # Letterlike Symbols (№, ™)
    (0x2212, 0x2212),  # minus sign
    (0x3000, 0x30FF),  # CJK Symbols and Punctuation, Hiragana, Katakana
    (0xFF00, 0xFFEF),  # Halfwidth and Fullwidth Forms
]
CJK_BASIC = [(0x4E00, 0x9FFF)]


def gb2312() -> list[int]:
    characters = set()
    for high in range(0xB0, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                characters.add(ord(bytes([high, low]).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return sorted(characters)


def sc_face(collection: Path) -> TTFont:
    for number in range(10):
        font = TTFont(collection, fontNumber=number, lazy=True)
        if font["name"].getDebugName(1) == "Noto Sans CJK SC":
            return TTFont(collection, fontNumber=number)
    raise SystemExit(f"No Noto Sans CJK SC face in {collection}")


def cff_to_truetype(font: TTFont) -> None:
    """Replace CFF cubic outlines by TrueType quadratic ones (fontTools' otf2ttf snippet)."""
    glyph_order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in glyph_order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf = newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = glyphs
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    glyf.compile(font)
    for name, glyph in glyphs.items():  # left side bearings follow the new bounding boxes
        width, _lsb = font["hmtx"][name]
        font["hmtx"][name] = (width, getattr(glyph, "xMin", 0))
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for field in (
        "maxZones",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    maxp.maxComponentElements = max(
        (len(glyph.components) for glyph in glyphs.values() if hasattr(glyph, "components")), default=0
    )
    maxp.compile(font)
    # No glyph names (post format 3): PDF embedding needs none, and reading 20,000 names back
    # cost a tenth of a second per document.
    font["post"].formatType = 3.0
    font.sfntVersion = "\x00\x01\x00\x00"


def build(source: str, target: str, codepoints: list[int]) -> None:
    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "vhea", "vmtx", "VORG"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codepoints)
    font = sc_face(SOURCE / source)
    subsetter.subset(font)
    cff_to_truetype(font)
    font.save(HERE / target)
    print(f"{target}: {(HERE / target).stat().st_size / 1e6:.1f} MB")


def expand(ranges: list[tuple[int, int]]) -> list[int]:
    return [codepoint for first, last in ranges for codepoint in range(first, last + 1)]


if __name__ == "__main__":
    build(
        "NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular-subset.ttf", expand(LATIN_AND_SYMBOLS + CJK_BASIC)
    )
    build("NotoSansCJK-Bold.ttc", "NotoSansCJKsc-Bold-subset.ttf", expand(LATIN_AND_SYMBOLS) + gb2312())
