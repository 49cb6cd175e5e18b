"""Where imported plans live and which one is in force.

The plans directory is ``plans/`` next to the database (``CPPCC_PLANS`` overrides it):

    plans/pending/<token>.json     an import shown in a preview, waiting for [启用] (kept a day)
    plans/<time>-<token>.json      every plan put in force, never changed afterwards
    plans/state.json               {"active": file or null, "previous": file or null, "token": …}

The plan in force is ``active`` when set, else ``knowledge/plan.json`` (CPPCC_KNOWLEDGE). Putting
an import in force makes the current one ``previous``; :meth:`PlanStore.restore` swaps the two,
so the plan before the last switch comes back (null meaning the knowledge directory's plan).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.config import default_db_path, knowledge_dir
from bot.plan.build import dump_plan, write_atomically

PENDING_SECONDS = 24 * 3600


class PlanStoreError(ValueError):
    """Nothing to restore, or a plans directory file is damaged; the message is for people."""


def plans_dir(db_path: Path | None = None) -> Path:
    """``CPPCC_PLANS``, else ``plans/`` beside the database (``db_path``, else ``CPPCC_DB``)."""
    override = os.environ.get("CPPCC_PLANS")
    if override:
        return Path(override)
    if db_path is None:
        db_path = Path(os.environ["CPPCC_DB"]) if os.environ.get("CPPCC_DB") else default_db_path()
    return Path(db_path).parent / "plans"


@dataclass(frozen=True)
class Activation:
    path: Path  # the plan file now in force
    already: bool  # the same import was put in force before (a second press)


@dataclass
class PlanStore:
    root: Path

    @classmethod
    def at(cls, db_path: Path | None = None) -> PlanStore:
        return cls(plans_dir(db_path))

    # ---- state ----------------------------------------------------------------------------

    def state(self) -> dict:
        path = self.root / "state.json"
        if not path.exists():
            return {"active": None, "previous": None, "token": None}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PlanStoreError(f"{path} 已损坏：{exc}") from exc
        if not isinstance(data, dict):
            raise PlanStoreError(f"{path} 已损坏：应为对象")
        return {"active": data.get("active"), "previous": data.get("previous"), "token": data.get("token")}

    def stamp(self) -> tuple[int, int, int] | None:
        """state.json's inode, size and modification time (None when there is none): one stat
        call, so a running bot can notice cheaply that `cppcc-bot plan use|restore` switched plans."""
        try:
            info = (self.root / "state.json").stat()
        except OSError:
            return None
        return (info.st_ino, info.st_size, info.st_mtime_ns)

    def _write_state(self, state: dict) -> None:
        write_atomically(self.root / "state.json", json.dumps(state, ensure_ascii=False, indent=2) + "\n")

    def _file(self, name: str | None) -> Path | None:
        return self.root / name if name else None

    def in_force(self) -> Path:
        """The plan file in force: the active import, or the knowledge directory's plan.json."""
        return self._file(self.state()["active"]) or knowledge_dir() / "plan.json"

    def previous(self) -> Path | None:
        """What :meth:`restore` brings back (None with nothing to restore)."""
        state = self.state()
        if state["active"] is None and state["previous"] is None:
            return None
        return self._file(state["previous"]) or knowledge_dir() / "plan.json"

    def version(self) -> str:
        """A short token of which plans are active and previous (a [恢复上一版] button carries it,
        so a press after another switch changes nothing)."""
        state = self.state()
        return hashlib.sha256(f"{state['active']}|{state['previous']}".encode()).hexdigest()[:8]

    @staticmethod
    def describe(path: Path | None) -> str:
        """《title》（N 项任务） of a plan file, for people; the file name when it cannot be read."""
        if path is None:
            return "无"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            title = data["document"].get("title") or path.name
            return f"《{title}》（{len(data['tasks'])} 项任务）"
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return f"{path.name}（无法读取）"

    # ---- pending imports -------------------------------------------------------------------

    def save_pending(self, plan: dict, source: str) -> str:
        """Keep an import until [启用] or [取消]; return its token (for button data)."""
        self._prune()
        token = secrets.token_hex(4)
        content = {"source": source, "created": time.time(), "plan": plan}
        write_atomically(self.root / "pending" / f"{token}.json", json.dumps(content, ensure_ascii=False))
        return token

    def pending(self, token: str) -> dict | None:
        if not token.isalnum():
            return None
        path = self.root / "pending" / f"{token}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def cancel(self, token: str) -> bool:
        """Drop a pending import; False when it was not there (already used or cancelled)."""
        path = self.root / "pending" / f"{token}.json"
        if token.isalnum() and path.exists():
            path.unlink()
            return True
        return False

    def _prune(self) -> None:
        folder = self.root / "pending"
        if folder.is_dir():
            for path in folder.glob("*.json"):
                if time.time() - path.stat().st_mtime > PENDING_SECONDS:
                    path.unlink(missing_ok=True)

    # ---- switching -------------------------------------------------------------------------

    def activate(self, plan: dict, token: str | None = None) -> Activation:
        """Put ``plan`` in force; the current one becomes the previous. With the token of a
        pending import, a second call for the same token changes nothing (``already``)."""
        state = self.state()
        if token is not None and state["token"] == token and state["active"]:
            return Activation(self.root / state["active"], already=True)
        name = f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{token or secrets.token_hex(4)}.json"
        write_atomically(self.root / name, dump_plan(plan))
        self._write_state({"active": name, "previous": state["active"], "token": token})
        if token is not None:
            self.cancel(token)
        return Activation(self.root / name, already=False)

    def restore(self) -> Path:
        """Swap the plan in force with the previous one; return the file now in force."""
        state = self.state()
        if state["active"] is None and state["previous"] is None:
            raise PlanStoreError("没有可恢复的上一份方案：还没有启用过导入的方案")
        self._write_state({"active": state["previous"], "previous": state["active"], "token": None})
        return self.in_force()
