"""Plan import speed: a 300-task plan as text (three layouts) and as a task table (.docx, .xlsx).

Run: python benchmarks/bench_plan_parse.py [--rounds 5]
Target (issue 18): a 300-task plan (text or table) parses in < 1 s. Reports, per form, the
parse alone (read_plan_file) and the whole import (parse, units resolved against the catalogue,
preview), median and worst of the rounds.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import knowledge_dir  # noqa: E402
from bot.plan.importer import Knowledge, import_plan, read_plan_file  # noqa: E402

TASKS = 300
AREAS = 10
UNITS = ["县委办公室", "县政府办公室", "县政协办公室", "县委组织部", "县委统战部", "县财政局", "各乡镇", "县新设中心"]
CN = "一二三四五六七八九十"


def _units(n: int) -> tuple[str, str]:
    return UNITS[n % len(UNITS)], UNITS[(n + 3) % len(UNITS)]


def text_inline(n_tasks: int = TASKS) -> str:
    lines = ["某县关于加强新时代县政协工作的任务分工方案", "为贯彻落实有关部署，制定本方案。"]
    per = n_tasks // AREAS
    for area in range(AREAS):
        lines.append(f"{CN[area]}、第{area + 1}方面的重点工作")
        for k in range(per):
            n = area * per + k + 1
            lead, support = _units(n)
            lines.append(
                f"{n}．围绕第{n}项工作建立健全协商议事、成果转化和督促落实机制，2025年{n % 12 + 1}月底前完成。"
                f"（牵头单位：{lead}；配合单位：{support}）"
            )
    lines += ["十一、保障措施", "（一）加强组织领导。各单位要高度重视。"]
    return "\n".join(lines)


def text_lines(n_tasks: int = TASKS) -> str:
    lines = ["某县政协工作实施方案", "一、总体要求", "（一）指导思想。坚持正确方向。", "二、工作任务"]
    per = n_tasks // AREAS
    for area in range(AREAS):
        lines.append(f"（{CN[area]}）第{area + 1}方面的工作")
        for g in range(3):
            lines.append(f"{area * 3 + g + 1}.第{g + 1}组工作")
            for k in range(per // 3):
                n = area * per + g * (per // 3) + k + 1
                lead, support = _units(n)
                lines += [f"（{n}）推进第{n}项工作，明确责任分工，", "按季度报送进展情况。"]
                lines += [f"责任单位：{lead}、{support}", "完成时限：长期坚持"]
    lines += ["三、工作要求", "（一）强化组织领导。要加强组织领导。"]
    return "\n".join(lines)


def text_yishi(n_tasks: int = TASKS) -> str:
    lines = ["某县关于加强政协工作的实施意见", "一、总体要求", "坚持正确方向。", "二、重点任务"]
    per = n_tasks // 30
    numerals = [CN[i] if i < 10 else f"十{CN[i - 10]}" for i in range(per)]
    for para in range(30):
        segments = []
        for k in range(per):
            n = para * per + k + 1
            lead, support = _units(n)
            segments.append(f"{numerals[k]}是做好第{n}项工作，形成长效机制（{lead}牵头，{support}配合）。")
        lines.append(f"（{para + 1}）第{para + 1}方面。" + "".join(segments))
    lines += ["三、工作要求", "各单位要抓好落实。"]
    return "\n".join(lines)


def table_rows(n_tasks: int = TASKS) -> list[list[str]]:
    rows = []
    for n in range(1, n_tasks + 1):
        lead, support = _units(n)
        area = f"第{(n - 1) // (n_tasks // AREAS) + 1}方面的重点工作"
        rows.append([str(n), area, f"推进第{n}项工作，建立健全工作机制。", lead, support, "2025年12月底前"])
    return rows


HEADER = ["序号", "重点任务", "具体措施", "牵头单位", "配合单位", "完成时限"]


def xlsx(rows: list[list[str]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["某县政协工作任务清单"])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def docx(rows: list[list[str]]) -> bytes:
    import docx as python_docx

    document = python_docx.Document()
    document.add_paragraph("某县政协工作任务分工方案")
    table = document.add_table(rows=1 + len(rows), cols=len(HEADER))
    for index, name in enumerate(HEADER):
        table.cell(0, index).text = name
    for number, row in enumerate(rows, start=1):
        for index, value in enumerate(row):
            table.cell(number, index).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def measure(data: bytes, name: str, rounds: int, knowledge: Knowledge) -> tuple[list[float], list[float], int]:
    parse, whole = [], []
    tasks = 0
    for _ in range(rounds):
        started = time.perf_counter()
        read_plan_file(data, name)
        parse.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = import_plan(data, name, knowledge)
        whole.append(time.perf_counter() - started)
        assert result.plan is not None, result.preview.text()
        tasks = len(result.plan["tasks"])
    return parse, whole, tasks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    knowledge = Knowledge.load(knowledge_dir())
    rows = table_rows()
    forms = [
        ("text: 1. tasks, inline 牵头/配合", text_inline().encode(), "inline.txt"),
        ("text: （1） tasks, unit lines, 3 levels", text_lines().encode(), "lines.txt"),
        ("text: 一是/二是 in paragraphs", text_yishi().encode(), "yishi.txt"),
        ("table: .xlsx", xlsx(rows), "table.xlsx"),
        ("table: .docx", docx(rows), "table.docx"),
    ]
    worst = 0.0
    for label, data, name in forms:
        parse, whole, tasks = measure(data, name, args.rounds, knowledge)
        worst = max(worst, max(whole))
        print(
            f"{label:40s} {tasks} tasks  parse median {statistics.median(parse) * 1000:7.1f} ms"
            f" (max {max(parse) * 1000:7.1f})  whole import median {statistics.median(whole) * 1000:7.1f} ms"
            f" (max {max(whole) * 1000:7.1f})"
        )
    print(f"slowest whole import {worst * 1000:.1f} ms (target < 1000 ms)")
    if worst >= 1.0:
        sys.exit(1)


if __name__ == "__main__":
    main()
