"""Import a plan file (.txt, .docx, .xlsx/.xls): read, parse, build and preview, never raising
for bad input — the command line and the bot both call :func:`import_plan`.

What is refused, with one line naming what was found and what is missing: a file over
20 MB; a file that is no plan (no numbered items, or none with units); tasks without units
(listed with their lines, never guessed); a .docx holding only images; an encrypted, corrupt
or renamed office file; a zip bomb (bot/tables.py checks the zip's directory first).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from bot.csvfile import ImportProblems, decode
from bot.plan import tables as plan_tables
from bot.plan.build import Built, build_from_parsed, load_json
from bot.plan.newunits import Resolver
from bot.plan.parse import TITLE_RE, read_plan
from bot.plan.preview import Preview, describe, failed
from bot.plan.structure import ParsedPlan, PlanParseError, build_structure
from bot.plan.units import CatalogueError, UnitCatalogue
from bot.tables import MAX_BYTES, check_zip, open_table

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_MARK = "EncryptionInfo".encode("utf-16-le")
REFUSED_SUFFIXES = (".doc", ".pdf", ".wps", ".rar", ".7z", ".jpg", ".jpeg", ".png")


@dataclass
class PlanImport:
    """The outcome of one import: the plan to put in force (None when it cannot be) and its preview."""

    preview: Preview
    plan: dict | None = None


@dataclass(frozen=True)
class Knowledge:
    """The catalogue and quantified requirements an import resolves against."""

    units: dict
    departments: dict | None
    obligations: dict | None

    @classmethod
    def load(cls, directory: Path) -> Knowledge:
        departments = directory / "departments.json"
        obligations = directory / "obligations.json"
        return cls(
            load_json(directory / "units.json"),
            load_json(departments) if departments.exists() else None,
            load_json(obligations) if obligations.exists() else None,
        )


def read_plan_file(data: bytes, filename: str) -> tuple[ParsedPlan, str]:
    """(parsed plan, kind) of a file's bytes; PlanParseError naming what is wrong."""
    if len(data) > MAX_BYTES:
        raise PlanParseError(0, f"文件太大（{len(data) / 1024 / 1024:.1f} MB），最大 {MAX_BYTES // 1024 // 1024} MB")
    if not data.strip():
        raise PlanParseError(0, "文件为空")
    suffix = Path(filename).suffix.lower()
    try:
        if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
            names = _zip_names(data)
            if "word/document.xml" in names:
                return _read_docx(data, filename), "docx"
            return _read_spreadsheet(data, filename), "xlsx"
        if data.startswith(OLE_MAGIC):
            if ENCRYPTED_MARK in data:  # an Office file with an opening password is an OLE container
                raise PlanParseError(0, "文件已加密（设置了打开密码），无法读取：请去掉密码后另存再发送")
            if suffix == ".doc":
                raise PlanParseError(0, "这是旧版 Word 文档（.doc）：请另存为 .docx 再发送")
            return _read_spreadsheet(data, filename), "xls"
        if suffix in REFUSED_SUFFIXES or data.startswith(b"%PDF"):
            raise PlanParseError(0, f"不能读取 {suffix or 'PDF'} 文件：请发送方案的 .docx、.xlsx 或 .txt 文本")
        if suffix == ".csv":
            return _read_spreadsheet(data, filename), "table"
        text = decode(data)
        pasted = _pasted_table(text)
        return (pasted, "table") if pasted else (read_plan(text), "text")
    except ImportProblems as exc:
        raise PlanParseError(0, "；".join(exc.problems)) from exc


def _zip_names(data: bytes) -> set[str]:
    try:
        archive = check_zip(data, "[Content_Types].xml", "Office 文件")
    except ImportProblems as exc:
        raise PlanParseError(0, "；".join(exc.problems)) from exc
    return set(archive.namelist())


def _read_docx(data: bytes, filename: str) -> ParsedPlan:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    from bot.plan.wordnumbers import paragraph_texts

    archive = check_zip(data, "word/document.xml", "Word 文档")
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise PlanParseError(0, "Word 文档已损坏，无法读取：请用 Word 打开后另存为 .docx 再发送") from exc
    paragraphs = paragraph_texts(document)  # with the markers of Word's automatic numbering
    words = plan_tables.default_words()
    rows: list[tuple[int, list[str]]] = []
    for table in document.tables:
        for row in table.rows:
            rows.append((len(rows) + 1, [cell.text.strip() for cell in row.cells]))
    if rows and plan_tables.find_header(rows, words):
        items, _ = plan_tables.rows_to_items(rows, words)
        title = next((p.strip() for p in paragraphs if TITLE_RE.match(p.strip())), None)
        return build_structure(_table_document(title or Path(filename).stem), [], items, source_kind="docx")
    text = "\n".join([*paragraphs, *("\t".join(cells) for _, cells in rows)])
    if not text.strip():
        images = len([name for name in archive.namelist() if name.startswith("word/media/")])
        if images:
            raise PlanParseError(0, f"这份 Word 文档里只有图片（{images} 张），没有文字：请发送文字版的方案或任务表")
        raise PlanParseError(0, "这份 Word 文档是空的")
    return read_plan(text)


def _pasted_table(text: str) -> ParsedPlan | None:
    """A task table copied from a web page as text: cells split by tabs (or wide spaces)."""
    lines = text.splitlines()
    rows = [(number, re.split(r"\t| {2,}|\u3000{2,}", line.strip())) for number, line in enumerate(lines, 1)]
    rows = [(number, cells) for number, cells in rows if any(cells)]
    words = plan_tables.default_words()
    header = plan_tables.find_header(rows, words)
    if header is None:
        return None
    items, _ = plan_tables.rows_to_items(rows, words)
    above = [cells for number, cells in rows if number < header.line]
    title = next((c for cells in above for c in cells if c), None)
    return build_structure(_table_document(title or "实施方案"), [], items, source_kind="table")


def _read_spreadsheet(data: bytes, filename: str) -> ParsedPlan:
    table = open_table(data, filename)
    words = plan_tables.default_words()
    for sheet in table.sheets:
        if plan_tables.find_header(sheet.rows, words) is None:
            continue
        items, header = plan_tables.rows_to_items(sheet.rows, words, sheet.headings)
        above = [cells for line, cells in sheet.rows if line < header.line]
        title = next((c for cells in above for c in cells if c), None) or Path(filename).stem
        return build_structure(_table_document(title), [], items, source_kind="xlsx")
    plan_tables.rows_to_items(table.sheets[0].rows if table.sheets else [], words)  # raises: no header
    raise PlanParseError(0, "表格中找不到任务表")


def _table_document(title: str) -> dict:
    return {
        "title": re.sub(r"\s+", "", title) or None,
        "notice_title": None,
        "doc_number": None,
        "index_number": None,
        "issuer": None,
        "issued_date": None,
        "published_date": None,
        "approved_by": None,
        "keywords": [],
    }


def import_plan(
    data: bytes,
    filename: str,
    knowledge: Knowledge,
    *,
    same: dict[str, str] | None = None,
    obligations: bool | None = None,
) -> PlanImport:
    """Read, parse and build a plan file; the preview says what was found and whether it can be
    used. ``obligations``: True applies the knowledge's quantified requirements (an error when
    they do not fit), False never, None when every quote is found in the plan."""
    source = Path(filename).name or "方案"
    try:
        parsed, kind = read_plan_file(data, filename)
    except PlanParseError as exc:
        return PlanImport(failed(source, str(exc)))
    try:
        catalogue = UnitCatalogue.from_dict(knowledge.units)
        if knowledge.departments is not None:
            catalogue = catalogue.with_departments(knowledge.departments)
    except CatalogueError as exc:
        return PlanImport(failed(source, f"单位目录有误：{exc}", kind))
    built: Built | None = None
    notes: list[str] = []
    data_ = parsed.data
    try:
        if not parsed.problems:
            use = knowledge.obligations if obligations is not False else None
            try:
                built = build_from_parsed(_copy(data_), knowledge.units, use, knowledge.departments, same)
            except PlanParseError:
                if obligations is True or use is None:
                    raise
                built = build_from_parsed(_copy(data_), knowledge.units, None, knowledge.departments, same)
                notes.append("未附加量化要求（每年至少几次等）：现有的量化要求属于另一份方案。")
    except (PlanParseError, CatalogueError) as exc:
        return PlanImport(failed(source, str(exc), kind))
    matches = built.matches if built else {}
    if built is None:
        resolver = Resolver(catalogue)
        for task in data_["tasks"]:
            for label in task["units_printed"]:
                matches.setdefault(label, resolver.match(label))
    plan = data_ if built is None else built.plan
    preview = describe(source, kind, plan, parsed.problems, matches, catalogue)
    preview.notes += notes
    return PlanImport(preview, built.plan if built and preview.ok else None)


def _copy(data: dict) -> dict:
    return {**data, "tasks": [dict(task) for task in data["tasks"]]}
