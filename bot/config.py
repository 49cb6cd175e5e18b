"""Settings from the environment (and command-line flags, which override them)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.numbers import read_number, shown

DEFAULT_TZ = "Asia/Shanghai"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def knowledge_dir() -> Path:
    """Directory with plan.json and the other data files (CPPCC_KNOWLEDGE overrides)."""
    override = os.environ.get("CPPCC_KNOWLEDGE")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "knowledge"


def read_json(path: Path | str, error: type[Exception], what: str) -> Any:
    """A knowledge data file's JSON, or ``error`` with one line naming ``what`` (文件 …) and the path."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(f"找不到{what} {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{what} {path} 已损坏，无法读取：{exc}") from exc


def default_db_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "cppcc-bot" / "cppcc.db"


def parse_admin_ids(raw: str | None) -> frozenset[int]:
    ids = set()
    for part in (raw or "").replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        telegram_id = read_number(part)
        if telegram_id is None:
            raise ConfigError(f"CPPCC_ADMIN_IDS: “{shown(part)}”不是 Telegram 用户 id（应为正整数，用逗号分隔）")
        ids.add(telegram_id)
    return frozenset(ids)


def _positive(env: dict[str, str], name: str, default, kind):
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"{name}: 应为正数，实际为 {raw!r}")
    return value


def parse_tz(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"CPPCC_TZ: 未知时区 {name!r}") from exc


def parse_backup_dir(raw: str | None) -> tuple[bool, Path | None]:
    """CPPCC_BACKUP_DIR → (daily backups on, folder); unset means the default folder, "off" none."""
    raw = (raw or "").strip()
    if raw.lower() in ("off", "no", "none", "false", "0"):
        return False, None
    return True, Path(raw) if raw else None


def parse_clock(name: str, raw: str | None, default: time) -> time:
    """A time of day written HH:MM (local time)."""
    if not raw or not raw.strip():
        return default
    try:
        return time.fromisoformat(raw.strip().zfill(5))
    except ValueError as exc:
        raise ConfigError(f"{name}: 应为 时:分（例如 03:00），实际为 {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    token: str | None = field(default=None, repr=False)  # never printed
    base_url: str | None = None
    db_path: Path = field(default_factory=default_db_path)
    admin_ids: frozenset[int] = frozenset()
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TZ))
    # Daily backups (bot/storage/backup.py): into backup_dir, or a "backups" folder next to the
    # database when it is None; off when backups is False (CPPCC_BACKUP_DIR=off).
    backups: bool = True
    backup_dir: Path | None = None
    backup_keep: int = 7
    backup_time: time = time(3, 0)
    flood_limit: int = 8  # messages per user …
    flood_window: float = 10.0  # … within this many seconds
    send_rate: float = 28.0  # messages per second, whole bot (Telegram allows about 30)
    per_chat_interval: float = 1.05  # seconds between two messages to one private chat
    # Seconds to wait for a Bot API answer. A request that times out may still have been
    # delivered, so a timeout costs a possible duplicate: wait long enough for a slow server.
    read_timeout: float = 20.0
    # Seconds between two checks that every secretary, also one added or removed with the CLI
    # while the bot runs, has the right command menu (handlers/office.py).
    menu_sync: float = 300.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> Settings:
        env = dict(os.environ if env is None else env)
        backups, backup_dir = parse_backup_dir(env.get("CPPCC_BACKUP_DIR"))
        values = {
            "token": env.get("TELEGRAM_BOT_TOKEN") or None,
            "base_url": env.get("TELEGRAM_API_BASE_URL") or None,
            "db_path": Path(env["CPPCC_DB"]) if env.get("CPPCC_DB") else default_db_path(),
            "admin_ids": parse_admin_ids(env.get("CPPCC_ADMIN_IDS")),
            "tz": parse_tz(env.get("CPPCC_TZ")),
            "backups": backups,
            "backup_dir": backup_dir,
            "backup_keep": _positive(env, "CPPCC_BACKUP_KEEP", 7, int),
            "backup_time": parse_clock("CPPCC_BACKUP_TIME", env.get("CPPCC_BACKUP_TIME"), time(3, 0)),
            "flood_limit": _positive(env, "CPPCC_FLOOD_LIMIT", 8, int),
            "flood_window": _positive(env, "CPPCC_FLOOD_WINDOW", 10.0, float),
            "send_rate": _positive(env, "CPPCC_SEND_RATE", 28.0, float),
            "per_chat_interval": _positive(env, "CPPCC_PER_CHAT_INTERVAL", 1.05, float),
            "read_timeout": _positive(env, "CPPCC_READ_TIMEOUT", 20.0, float),
            "menu_sync": _positive(env, "CPPCC_MENU_SYNC", 300.0, float),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def backup_folder(self) -> Path | None:
        """Where the daily backups go; None when they are off (or the database is in memory)."""
        if not self.backups or str(self.db_path) == ":memory:":
            return None
        return self.backup_dir or self.db_path.parent / "backups"
