"""What every `cppcc-bot` command that touches the database shares.

Each such command opens the database named by CPPCC_DB and acts as the operator (a
secretary). Refusals go to stderr in Chinese with exit status 1; nothing is half-written.
Imports are deferred into the functions so that `cppcc-bot ask` starts fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.people.roles import Caller
    from bot.storage import Storage

Command = Callable[[argparse.Namespace, "Settings", "Storage"], int]


def error(message: str) -> int:
    print(f"错误：{message}", file=sys.stderr)
    return 1


def read_file(path: str) -> bytes:
    """A file's bytes; an unreadable file is an OSError whose message says which and why."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise FileNotFoundError(f"无法读取文件 {path}：{exc.strerror}") from exc


DRY_RUN_HINT = "这是预览，尚未导入。确认导入请加 --yes"


def import_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE, --yes and --skip-bad: every import previews without --yes (a dry run, like the bot's)."""
    parser.add_argument("file")
    parser.add_argument("--yes", action="store_true", help="确认导入（不加则只显示预览，不做任何更改）")
    parser.add_argument("--skip-bad", action="store_true", help="跳过有问题的行，导入其余的行")


def dry_run_hint(skipped: bool, extra: str = "") -> None:
    """What to add to the command to import after a dry run (on stderr, so stdout is the preview)."""
    print(DRY_RUN_HINT + ("（加 --skip-bad 跳过问题行）" if skipped else "") + extra, file=sys.stderr)


def refuse_skipped(skipped: list[tuple[int, str]], skip_bad: bool) -> None:
    """All or nothing: rows with problems refuse the file unless --skip-bad was given."""
    from bot.csvfile import ImportProblems

    if skipped and not skip_bad:
        raise ImportProblems([f"第{line}行：{reason}" for line, reason in skipped], total=len(skipped))


def operator() -> Caller:
    """The person at the server's terminal acts as a secretary."""
    from bot.people.roles import CLI_CALLER

    return CLI_CALLER


def with_storage(command: Command) -> Callable[[argparse.Namespace], int]:
    """Open settings and storage around a command and turn refusals into exit status 1."""

    def run(args: argparse.Namespace) -> int:
        from bot.config import ConfigError, Settings
        from bot.csvfile import ImportProblems
        from bot.errors import UserError
        from bot.storage import Storage, StorageError, database_failure

        settings = None
        try:
            settings = Settings.from_env()
            with Storage.from_settings(settings) as storage:
                return command(args, settings, storage)
        except ImportProblems as exc:
            heading, *lines = exc.report()
            print(f"错误：{heading}", file=sys.stderr)
            for line in lines:
                print(f"  {line}", file=sys.stderr)
            return 1
        except UserError as exc:
            return error(exc.message)
        except (ConfigError, StorageError, OSError) as exc:
            return error(str(exc))
        except Exception as exc:
            # An SQLite failure after opening (the lock kept too long, a page found malformed): one line.
            failure = database_failure(exc, settings.db_path if settings else "CPPCC_DB")
            if failure is None:
                raise
            return error(str(failure))

    return run


def number_argument(what: str = "编号", low: int = 1, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type`` for ids, task numbers and counts, read by bot/numbers.py (ASCII or
    full-width digits, from ``low`` to ``high`` or SQLite's largest integer); anything else is
    argparse's one-line error (exit status 2)."""

    def parse(text: str) -> int:
        from bot.numbers import SQLITE_MAX, NumberError, parse_number

        try:
            return parse_number(text, what=what, low=low, high=SQLITE_MAX if high is None else high)
        except NumberError as exc:
            raise argparse.ArgumentTypeError(exc.message) from exc

    return parse
