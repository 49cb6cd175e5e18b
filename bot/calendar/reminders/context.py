"""What the engine works with: reminders, their recipients and occurrences, and the database read once per pass."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cached_property
from zoneinfo import ZoneInfo

from bot.calendar.events import audience_people
from bot.ledger import reporting_contacts
from bot.people.progress import member_obligations
from bot.plan.model import Plan
from bot.plan.term import TermSettings
from bot.reply import Button
from bot.storage import Member, Person, Storage, UnitContact

# ---- reminders ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    key: str  # member:12 | unit_contact:3 | secretary:<telegram id> | unit:<unit id> (nobody to reach there)
    name: str
    telegram_id: int | None
    secretary: bool = False


@dataclass(frozen=True)
class Reminder:
    when: datetime  # delivery time: the rule's time moved out of the quiet hours
    due: datetime  # the rule's own time
    expires: datetime  # after this it is no longer useful (catch-up grace)
    recipient: Recipient
    rule_id: str
    occurrence: str
    topic: str  # what it is about (an event, a proposal …): newer reminders supersede older ones
    text: str
    buttons: tuple[Button, ...] = ()
    status: str = "due"  # "due" | "unbound" (no Telegram account) | "late" (past its grace at ``now``)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule_id, self.occurrence, self.recipient.key)

    @property
    def summary(self) -> str:
        """One line for the secretaries' lists; an event reminder names the event and its date."""
        lines = self.text.split("\n")
        if self.topic.startswith("event:") and len(lines) > 1:
            return f"{lines[0]} {lines[1]}"
        return lines[0]


@dataclass(frozen=True)
class Occurrence:
    occurrence: str
    due: datetime
    expires: datetime
    topic: str
    build: Callable[..., list[tuple[Recipient, str, tuple[Button, ...]]]]
    timely: bool = False  # build(at=…) words its lead (“2小时后”) from the moment it is sent


class Context:
    """What one computation needs, with lookups cached for its duration."""

    def __init__(
        self,
        storage: Storage,
        admin_ids: frozenset[int],
        plan: Plan,
        term_settings: TermSettings,
    ):
        self.storage = storage
        self.tz: ZoneInfo = storage.tz
        self.admin_ids = admin_ids
        self.plan = plan
        self.term_settings = term_settings
        self._counts: dict[tuple[date, date], dict[int, dict[str, int]]] = {}

    @cached_property
    def telegram_of(self) -> dict[tuple[str, int], int]:
        found = {}
        for kind in ("member", "unit_contact"):
            for person in self.storage.people(kind, active=True):
                binding = self.storage.binding_of_person(kind, person.id)
                if binding:
                    found[(kind, person.id)] = binding.telegram_id
        return found

    def person(self, person: Person) -> Recipient:
        return Recipient(f"{person.kind}:{person.id}", person.name, self.telegram_of.get((person.kind, person.id)))

    @cached_property
    def members(self) -> list[Member]:
        return self.storage.people("member", active=True)

    @cached_property
    def contacts(self) -> list[UnitContact]:
        return self.storage.people("unit_contact", active=True)

    @cached_property
    def secretaries(self) -> list[Recipient]:
        ids = sorted(self.admin_ids | {admin.telegram_id for admin in self.storage.admins()})
        names = {telegram_id: (kind, pid) for (kind, pid), telegram_id in self.telegram_of.items()}
        found = []
        for telegram_id in ids:
            person = self.storage.person(*names[telegram_id]) if telegram_id in names else None
            name = person.name if person else f"秘书（{telegram_id}）"
            found.append(Recipient(f"secretary:{telegram_id}", name, telegram_id, True))
        return found

    def unit_contacts(self, unit_id: str) -> list[Recipient]:
        """Contacts of a unit (and of units that are one of it); a unit nobody can be reached at."""
        people = reporting_contacts(self.storage, unit_id, self.plan) if unit_id in self.plan.catalogue.units else []
        if people:
            return [self.person(p) for p in people]
        name = self.plan.unit(unit_id).short if unit_id in self.plan.catalogue.units else unit_id
        return [Recipient(f"unit:{unit_id}", f"{name}（名单中无联络员）", None)]

    def named(self, words: tuple[str, ...], units: tuple[str, ...] = ()) -> list[Recipient]:
        """Recipients for a rule's recipient words, without duplicates."""
        found: dict[str, Recipient] = {}
        for word in words:
            if word == "secretaries":
                group = self.secretaries
            elif word == "undertaking_units":
                group = [r for unit in units for r in self.unit_contacts(unit)]
            else:
                group = self.unit_contacts(word.removeprefix("unit:"))
            for recipient in group:
                found.setdefault(recipient.key, recipient)
        return list(found.values())

    def audience(self, spec: str) -> list[Recipient]:
        """An event's audience (bot.notices.audience), secretaries included when it names them."""
        return [
            Recipient(r.key, r.name, r.chat_id, r.kind == "secretary")
            for r in audience_people(self.storage, spec, self.admin_ids)
        ]

    def counts(self, start: date, end: date) -> dict[int, dict[str, int]]:
        if (start, end) not in self._counts:
            self._counts[(start, end)] = self.storage.record_counts(start, end)
        return self._counts[(start, end)]

    def missing(self, member: Member, year: int, kinds: tuple[str, ...]) -> list[tuple[str, int]]:
        """(record kind, how many more) of the yearly requirements not yet met."""
        done = self.counts(date(year, 1, 1), date(year + 1, 1, 1)).get(member.id, {})
        return [
            (kind, obligation.count - done.get(kind, 0))
            for obligation, kind in member_obligations(self.plan)
            if obligation.period == "year" and kind in kinds and done.get(kind, 0) < obligation.count
        ]

    def at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, self.tz)
