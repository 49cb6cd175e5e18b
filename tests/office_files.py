"""Realistic office files built by the tests: rosters as a county office types them in Excel."""

from __future__ import annotations

import io
import os
import zipfile

import openpyxl

TITLE = "政协贺兰县第十届委员会委员名册"
ROSTER_HEADER = [
    "序号",
    "姓名",
    "性别",
    "民族",
    "出生年月",
    "手机号码",
    "界别",
    "所属专委会",
    "工作单位及职务",
    "是否常委",
]


def xlsx(rows: list[list[object]], *, merges: tuple[str, ...] = (), title: str | None = TITLE) -> bytes:
    """A workbook with an optional title row merged across the table, then ``rows``."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "委员名册"
    if title:
        sheet.append([title])
        width = max(len(row) for row in rows)
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    for row in rows:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def roster_rows(count: int, *, committee: str | None = None) -> list[list[object]]:
    """``count`` members under the mixed headers above; phones stored as Excel numbers."""
    committees = ("文史委", "提案委", "经济委", "社法委")
    rows: list[list[object]] = [list(ROSTER_HEADER)]
    for i in range(count):
        rows.append(
            [
                i + 1,
                f"委员{i:04d}",
                "男" if i % 2 else "女",
                "汉族",
                "1970.05",
                13800000000 + i,
                "经济界",
                committee or committees[i % len(committees)],
                f"某单位{i}",
                "√" if i % 10 == 0 else "",
            ]
        )
    return rows


def zip_bomb(entries: int = 1, size: int = 64 * 1024 * 1024) -> bytes:
    """A zip whose directory declares more than a workbook would hold (nothing is unpacked)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        chunk = b"\0" * (1024 * 1024)
        for index in range(entries):
            with archive.open(f"xl/worksheets/sheet{index + 1}.xml", "w", force_zip64=True) as entry:
                for _ in range(size // len(chunk)):
                    entry.write(chunk)
    return out.getvalue()


def many_entries(count: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        for index in range(count):
            archive.writestr(f"xl/media/image{index}.png", b"x")
    return out.getvalue()


def renamed_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("照片/合影.jpg", b"\xff\xd8\xff" + b"0" * 100)
    return out.getvalue()


def declared_huge(entries: int = 3, declared: int = 90 * 1024 * 1024) -> bytes:
    """A workbook-looking zip whose directory declares ``declared`` bytes per worksheet, each
    entry holding 0.5 MB of incompressible data (so no single entry looks like a bomb)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        for index in range(entries):
            archive.writestr(f"xl/worksheets/sheet{index + 1}.xml", os.urandom(512 * 1024))
    data = bytearray(out.getvalue())
    position = data.find(b"PK\x01\x02")  # the central directory: patch each worksheet's size
    while position != -1:
        name_length = int.from_bytes(data[position + 28 : position + 30], "little")
        name = bytes(data[position + 46 : position + 46 + name_length])
        if name.startswith(b"xl/worksheets/"):
            data[position + 24 : position + 28] = declared.to_bytes(4, "little")
        position = data.find(b"PK\x01\x02", position + 46)
    return bytes(data)
