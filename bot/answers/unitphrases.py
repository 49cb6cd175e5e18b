"""How people name units when they talk (knowledge/unit_phrases.json), checked against the catalogue.

Colloquial aliases always mean their unit; clipped forms (纪检, 宣传) mean a unit before an
appended word (纪检那头, 宣传上) or in a question that otherwise only asks what the unit does
(纪检的任务), because elsewhere they are ordinary words. The file is
validated when loaded: one-line errors naming the file and the entry. The file names the plan
whose catalogue it refers to ("plan": document number); with another plan it is not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.config import ConfigError, knowledge_dir, read_json
from bot.plan.units import UnitCatalogue

FILE = "unit_phrases.json"


@dataclass(frozen=True)
class UnitPhrases:
    aliases: dict[str, str]  # lower-case name → unit id
    clipped: dict[str, str]  # clipped form → unit id (see the module docstring)
    appended: tuple[str, ...]  # longest first

    @classmethod
    def load(cls, catalogue: UnitCatalogue, doc_number: str | None = None, path: Path | None = None) -> UnitPhrases:
        path = path or knowledge_dir() / FILE
        if not path.exists():
            return cls({}, {}, ())
        data = read_json(path, ConfigError, "单位说法文件")
        if isinstance(data, dict) and data.get("plan") not in (None, doc_number):
            return cls({}, {}, ())  # written for another plan's catalogue
        return cls.from_dict(data, catalogue, str(path))

    @classmethod
    def from_dict(cls, data: object, catalogue: UnitCatalogue, where: str = FILE) -> UnitPhrases:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: 应为对象")
        owners = {name.lower(): unit_id for name, unit_id in catalogue.name_index().items()}
        aliases: dict[str, str] = {}
        raw = data.get("aliases", {})
        if not isinstance(raw, dict):
            raise ConfigError(f"{where} aliases: 应为对象（单位 id → 名称列表）")
        for unit_id, names in raw.items():
            _known(catalogue, unit_id, f"{where} aliases[{unit_id!r}]")
            if not isinstance(names, list) or not all(isinstance(n, str) and len(n.strip()) >= 2 for n in names):
                raise ConfigError(f"{where} aliases[{unit_id!r}]: 应为至少两个字的名称列表")
            for name in names:
                key = name.strip().lower()
                other = owners.setdefault(key, unit_id)
                if other != unit_id:
                    raise ConfigError(f"{where} aliases[{unit_id!r}]: 名称 {name!r} 已属于单位 {other}")
                aliases[key] = unit_id
        clipped = data.get("clipped", {})
        if not isinstance(clipped, dict):
            raise ConfigError(f"{where} clipped: 应为对象（简称 → 单位 id）")
        for form, unit_id in clipped.items():
            if len(form.strip()) < 2:
                raise ConfigError(f"{where} clipped[{form!r}]: 简称至少两个字")
            _known(catalogue, unit_id, f"{where} clipped[{form!r}]")
        appended = data.get("appended", [])
        if not isinstance(appended, list) or not all(isinstance(w, str) and w.strip() for w in appended):
            raise ConfigError(f"{where} appended: 应为非空字符串列表")
        return cls(
            aliases=aliases,
            clipped={form.strip().lower(): unit_id for form, unit_id in clipped.items()},
            appended=tuple(sorted((w.strip() for w in appended), key=len, reverse=True)),
        )

    def appended_at(self, text: str, position: int) -> int:
        """Length of the appended word (那头, 上 …) starting at ``position``, or 0."""
        return next((len(word) for word in self.appended if text.startswith(word, position)), 0)


def _known(catalogue: UnitCatalogue, unit_id: object, where: str) -> None:
    if not isinstance(unit_id, str) or unit_id not in catalogue.units:
        raise ConfigError(f"{where}: 单位目录中没有 id {unit_id!r}")
