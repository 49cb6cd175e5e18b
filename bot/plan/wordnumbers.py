"""Word's automatic numbering: the markers Word shows but a paragraph's text does not hold.

A paragraph numbered by Word (its own ``w:numPr`` or its style's) gets the marker Word would
display — “1.”, “（一）”, “一、”, “①” — from the numbering definitions (``numFmt`` and
``lvlText`` of its list level), counted per list and level as Word counts them (a level restarts
after a higher one). The text parser then reads the plan as if the numbers were typed.
"""

from __future__ import annotations

from docx.document import Document
from docx.oxml.ns import qn

CN = "零一二三四五六七八九"
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
CHINESE_FORMATS = ("chineseCounting", "chineseCountingThousand", "ideographTraditional", "chineseLegalSimplified")


def chinese(number: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 45 → 四十五 (up to 99)."""
    tens, ones = divmod(number, 10)
    if number < 10:
        return CN[number]
    return (CN[tens] if tens > 1 else "") + "十" + (CN[ones] if ones else "")


def formatted(number: int, fmt: str) -> str:
    if fmt in CHINESE_FORMATS and 0 < number < 100:
        return chinese(number)
    if fmt == "decimalEnclosedCircle" and 0 < number <= len(CIRCLED):
        return CIRCLED[number - 1]
    if fmt in ("lowerLetter", "upperLetter") and 0 < number <= 26:
        letter = chr(ord("a") + number - 1)
        return letter.upper() if fmt == "upperLetter" else letter
    return str(number)


def _levels(document: Document) -> dict[str, dict[int, tuple[str, str, int]]]:
    """numId → ilvl → (numFmt, lvlText, start)."""
    try:
        numbering = document.part.numbering_part.element
    except (KeyError, NotImplementedError):
        return {}
    abstract: dict[str, dict[int, tuple[str, str, int]]] = {}
    for definition in numbering.findall(qn("w:abstractNum")):
        levels = {}
        for level in definition.findall(qn("w:lvl")):
            fmt = level.find(qn("w:numFmt"))
            text = level.find(qn("w:lvlText"))
            start = level.find(qn("w:start"))
            levels[int(level.get(qn("w:ilvl"), "0"))] = (
                fmt.get(qn("w:val")) if fmt is not None else "decimal",
                text.get(qn("w:val")) if text is not None else "",
                int(start.get(qn("w:val"), "1")) if start is not None else 1,
            )
        abstract[definition.get(qn("w:abstractNumId"))] = levels
    lists = {}
    for num in numbering.findall(qn("w:num")):
        ref = num.find(qn("w:abstractNumId"))
        if ref is not None and ref.get(qn("w:val")) in abstract:
            lists[num.get(qn("w:numId"))] = abstract[ref.get(qn("w:val"))]
    return lists


def _num_pr(paragraph) -> tuple[str, int] | None:
    """(numId, ilvl) of a paragraph numbered directly or by its style; None when not numbered."""
    for element in (paragraph._p, getattr(paragraph.style, "element", None)):
        ppr = element.find(qn("w:pPr")) if element is not None else None
        num = ppr.find(qn("w:numPr")) if ppr is not None else None
        if num is None:
            continue
        num_id = num.find(qn("w:numId"))
        level = num.find(qn("w:ilvl"))
        if num_id is None or num_id.get(qn("w:val")) == "0":
            return None
        return num_id.get(qn("w:val")), int(level.get(qn("w:val"), "0")) if level is not None else 0
    return None


def paragraph_texts(document: Document) -> list[str]:
    """Every paragraph's text, with the marker Word displays for numbered ones."""
    lists = _levels(document)
    counters: dict[str, dict[int, int]] = {}
    texts = []
    for paragraph in document.paragraphs:
        numbered = _num_pr(paragraph)
        text = paragraph.text
        if numbered and numbered[0] in lists and text.strip():
            num_id, level = numbered
            levels = lists[num_id]
            counts = counters.setdefault(num_id, {})
            counts[level] = counts.get(level, levels.get(level, ("", "", 1))[2] - 1) + 1
            for deeper in [k for k in counts if k > level]:
                del counts[deeper]
            fmt, pattern, _ = levels.get(level, ("decimal", f"%{level + 1}.", 1))
            marker = pattern
            for k in range(level, -1, -1):
                value = counts.get(k, levels.get(k, ("", "", 1))[2])
                marker = marker.replace(f"%{k + 1}", formatted(value, levels.get(k, (fmt, "", 1))[0]))
            text = marker + text
        texts.append(text)
    return texts
