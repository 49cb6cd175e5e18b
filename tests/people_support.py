"""Shared helpers for the storage, roster, people and records tests."""

from __future__ import annotations

import argparse
import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.cli import people as cli_people
from bot.people.roles import CLI_CALLER, Caller
from bot.people.roster import import_members, import_unit_contacts
from bot.storage import Storage

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 6, 15, 10, 0, tzinfo=TZ)

MEMBERS_CSV = (
    "姓名,手机号,界别,专委会,乡镇街道,党派,是否常委\n"
    "张三,13812345678,经济界,提案委,习岗镇,民盟,是\n"
    "李四,139-0000-1111,农业界,经济委,立岗镇,,否\n"
    "王五,+86 137 0000 2222,教育界,提案委,习岗镇,九三学社,\n"
)
UNITS_CSV = "单位,姓名,手机号\n县委办,赵六,13600003333\n统战部,钱七,13500004444\n"


def open_storage(tmp_path: Path) -> Storage:
    return Storage(tmp_path / "data" / "cppcc.db", TZ)


def seeded(tmp_path: Path) -> Storage:
    """A storage with the three members and two unit contacts above."""
    storage = open_storage(tmp_path)
    import_members(storage, CLI_CALLER, MEMBERS_CSV.encode(), now=NOW)
    import_unit_contacts(storage, CLI_CALLER, UNITS_CSV.encode(), now=NOW)
    return storage


def member_id(storage: Storage, name: str) -> int:
    (member,) = storage.members_named(name)
    return member.id


def member_caller(storage: Storage, name: str, telegram_id: int = 1001) -> Caller:
    return Caller(telegram_id, name, "member", member_id=member_id(storage, name))


ADMIN = Caller(9001, "秘书", "admin")
GUEST = Caller(5555, None, "guest")


def dump(path: Path) -> list[str]:
    """Every schema statement and row of a database file, for before/after comparisons."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cppcc-bot")
    cli_people.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)
