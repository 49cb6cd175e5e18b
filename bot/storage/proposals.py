"""Proposals (提案) and 社情民意 written through the assistant: drafts, co-signers, review,
assignment to units, unit replies, ratings, the dated timeline, and the typed answers a person
still owes the assistant (issue 13).

A proposal's own life cycle is in ``proposals.status`` (see bot/proposals/__init__.py); every
change is one transaction that also writes the timeline (``proposal_events``) and the outbox
rows telling the people concerned. Times are ISO-8601 with offset, dates ``YYYY-MM-DD``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from bot.storage.core import Migration

PROPOSAL_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "proposals, co-signers, units, replies, timeline and awaited input",
        (
            """CREATE TABLE proposals (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('proposal', 'opinion')),
                member_id INTEGER NOT NULL REFERENCES members (id),
                author_tg INTEGER NOT NULL,
                status TEXT NOT NULL,
                title TEXT NOT NULL DEFAULT '',
                body TEXT NOT NULL DEFAULT '',
                attachment TEXT,
                number TEXT UNIQUE,
                year INTEGER,
                seq INTEGER,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                submitted_at TEXT,
                cosign_until TEXT,
                review_since TEXT,
                accepted_on TEXT,
                assigned_on TEXT,
                reply_due TEXT,
                replied_on TEXT,
                result TEXT,
                rating TEXT,
                round INTEGER NOT NULL DEFAULT 1,
                reason TEXT,
                instruction TEXT,
                draft_reminded INTEGER NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX proposals_by_member ON proposals (member_id, id)",
            "CREATE INDEX proposals_by_status ON proposals (status)",
            "CREATE INDEX proposals_by_year ON proposals (year, seq)",
            """CREATE TABLE proposal_cosigners (
                proposal_id INTEGER NOT NULL REFERENCES proposals (id),
                member_id INTEGER NOT NULL REFERENCES members (id),
                status TEXT NOT NULL DEFAULT 'named' CHECK (status IN ('named', 'invited', 'agreed', 'declined')),
                answered_at TEXT,
                PRIMARY KEY (proposal_id, member_id)
            )""",
            "CREATE INDEX cosigners_by_member ON proposal_cosigners (member_id, status)",
            """CREATE TABLE proposal_units (
                proposal_id INTEGER NOT NULL REFERENCES proposals (id),
                unit_id TEXT NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('lead', 'helper')),
                signed_at TEXT,
                opinion TEXT,
                opinion_file TEXT,
                opinion_at TEXT,
                PRIMARY KEY (proposal_id, unit_id)
            )""",
            "CREATE INDEX proposal_units_by_unit ON proposal_units (unit_id)",
            """CREATE TABLE proposal_replies (
                id INTEGER PRIMARY KEY,
                proposal_id INTEGER NOT NULL REFERENCES proposals (id),
                unit_id TEXT NOT NULL,
                round INTEGER NOT NULL,
                text TEXT NOT NULL DEFAULT '',
                attachment TEXT,
                result TEXT,
                status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'submitted')),
                created_by INTEGER NOT NULL,
                created_at TEXT NOT NULL,
                submitted_at TEXT,
                UNIQUE (proposal_id, round, status, unit_id)
            )""",
            """CREATE TABLE proposal_events (
                id INTEGER PRIMARY KEY,
                proposal_id INTEGER NOT NULL REFERENCES proposals (id),
                at TEXT NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                text TEXT NOT NULL DEFAULT ''
            )""",
            "CREATE INDEX proposal_events_by_proposal ON proposal_events (proposal_id, id)",
            """CREATE TABLE proposal_inputs (
                telegram_id INTEGER PRIMARY KEY,
                what TEXT NOT NULL,
                proposal_id INTEGER NOT NULL,
                data TEXT NOT NULL DEFAULT '{}',
                until TEXT NOT NULL
            )""",
        ),
    ),
)


@dataclass(frozen=True)
class ProposalRow:
    id: int
    kind: str  # proposal | opinion
    member_id: int
    author_tg: int
    status: str
    title: str
    body: str
    attachment: dict[str, Any] | None
    number: str | None
    year: int | None
    seq: int | None
    created_at: str
    updated_at: str
    submitted_at: str | None
    cosign_until: str | None
    review_since: str | None
    accepted_on: str | None
    assigned_on: str | None
    reply_due: str | None
    replied_on: str | None
    result: str | None
    rating: str | None
    round: int
    reason: str | None
    instruction: str | None
    draft_reminded: int


@dataclass(frozen=True)
class CosignerRow:
    proposal_id: int
    member_id: int
    status: str  # named (in a draft) | invited | agreed | declined
    answered_at: str | None
    name: str = ""


@dataclass(frozen=True)
class ProposalUnitRow:
    proposal_id: int
    unit_id: str
    role: str  # lead | helper
    signed_at: str | None
    opinion: str | None
    opinion_file: dict[str, Any] | None
    opinion_at: str | None


@dataclass(frozen=True)
class ReplyRow:
    id: int
    proposal_id: int
    unit_id: str
    round: int
    text: str
    attachment: dict[str, Any] | None
    result: str | None
    status: str
    created_by: int
    created_at: str
    submitted_at: str | None


@dataclass(frozen=True)
class EventRow:
    id: int
    proposal_id: int
    at: str
    actor: str
    action: str
    text: str


@dataclass(frozen=True)
class InputRow:
    telegram_id: int
    what: str
    proposal_id: int
    data: dict[str, Any]
    until: str


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else None


def _dumps(value: Any) -> str | None:
    return json.dumps(value, ensure_ascii=False) if value else None


def _proposal(row: dict) -> ProposalRow:
    return ProposalRow(**dict(row, attachment=_loads(row["attachment"])))


class ProposalStore:
    """Mixin for :class:`bot.storage.Storage`; methods use ``self.db`` (sqlite-utils)."""

    DOMAIN_MIGRATIONS: ClassVar[dict[str, tuple[Migration, ...]]] = {"proposals": PROPOSAL_MIGRATIONS}

    # ---- proposals -----------------------------------------------------------------------

    def proposal_insert(self, fields: dict[str, Any]) -> int:
        return self.db["proposals"].insert(dict(fields, attachment=_dumps(fields.get("attachment")))).last_pk

    def proposal(self, proposal_id: int) -> ProposalRow | None:
        rows = self._rows("SELECT * FROM proposals WHERE id = ?", (proposal_id,))
        return _proposal(rows[0]) if rows else None

    def proposal_update(self, proposal_id: int, fields: dict[str, Any], *, when: tuple[str, ...] = ()) -> bool:
        """Update a proposal, only if its status is one of ``when`` (any status when empty);
        False when it is not (a stale button, a second press)."""
        values = {key: (_dumps(value) if key == "attachment" else value) for key, value in fields.items()}
        assignments = ", ".join(f"{key} = :{key}" for key in values)
        marks = ", ".join(f":when{i}" for i in range(len(when)))
        condition = f" AND status IN ({marks})" if when else ""
        params = dict(values, proposal_id=proposal_id, **{f"when{i}": s for i, s in enumerate(when)})
        cursor = self.db.execute(
            f"UPDATE proposals SET {assignments} WHERE id = :proposal_id{condition}",  # keys are ours
            params,
        )
        return cursor.rowcount == 1

    def proposals_where(
        self,
        *,
        member_id: int | None = None,
        statuses: tuple[str, ...] = (),
        kind: str | None = None,
        year: int | None = None,
    ) -> list[ProposalRow]:
        clauses, params = [], {}
        if member_id is not None:
            clauses.append("member_id = :member")
            params["member"] = member_id
        if statuses:
            clauses.append(f"status IN ({', '.join(f':s{i}' for i in range(len(statuses)))})")
            params.update({f"s{i}": s for i, s in enumerate(statuses)})
        if kind is not None:
            clauses.append("kind = :kind")
            params["kind"] = kind
        if year is not None:
            clauses.append("substr(coalesce(submitted_at, created_at), 1, 4) = :year")
            params["year"] = str(year)
        where = " AND ".join(clauses) or "1"
        return [_proposal(row) for row in self._rows(f"SELECT * FROM proposals WHERE {where} ORDER BY id", params)]

    def proposals_of_member(self, member_id: int) -> list[ProposalRow]:
        """Proposals the member wrote, agreed to co-sign or is asked to co-sign, newest first
        (drafts excluded)."""
        rows = self._rows(
            "SELECT * FROM proposals WHERE status NOT IN ('draft', 'discarded') AND (member_id = :m OR id IN"
            " (SELECT proposal_id FROM proposal_cosigners WHERE member_id = :m AND status IN ('agreed', 'invited')))"
            " ORDER BY id DESC",
            {"m": member_id},
        )
        return [_proposal(row) for row in rows]

    def next_proposal_seq(self, year: int) -> int:
        row = self.db.execute("SELECT max(seq) FROM proposals WHERE year = ?", (year,)).fetchone()
        return (row[0] or 0) + 1

    def cosigned_count(self, member_id: int, start: str, end: str) -> int:
        """Proposals submitted in [start, end) (ISO dates) that the member agreed to co-sign."""
        return self.db.execute(
            "SELECT count(*) FROM proposal_cosigners AS c JOIN proposals AS p ON p.id = c.proposal_id"
            " WHERE c.member_id = ? AND c.status = 'agreed' AND p.submitted_at >= ? AND p.submitted_at < ?",
            (member_id, start, end),
        ).fetchone()[0]

    def cosigned_counts(self, start: str, end: str) -> dict[int, int]:
        """Member id → :meth:`cosigned_count` for every member with at least one, in one query."""
        rows = self._rows(
            "SELECT c.member_id, count(*) AS n FROM proposal_cosigners AS c JOIN proposals AS p ON p.id = c.proposal_id"
            " WHERE c.status = 'agreed' AND p.submitted_at >= ? AND p.submitted_at < ? GROUP BY c.member_id",
            (start, end),
        )
        return {row["member_id"]: row["n"] for row in rows}

    # ---- co-signers -----------------------------------------------------------------------

    def _by_proposal(self, sql: str, ids: list[int], make: Callable[[dict], Any]) -> dict[int, list]:
        """Rows of ``sql`` (with ``{marks}`` for the ids) grouped by proposal id, in query order."""
        found: dict[int, list] = {proposal_id: [] for proposal_id in ids}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for row in self._rows(sql.format(marks=", ".join("?" for _ in chunk)), tuple(chunk)):
                found[row["proposal_id"]].append(make(row))
        return found

    def cosigners(self, proposal_id: int) -> list[CosignerRow]:
        return self.cosigners_of([proposal_id])[proposal_id]

    def cosigners_of(self, ids: list[int]) -> dict[int, list[CosignerRow]]:
        return self._by_proposal(
            "SELECT c.*, m.name FROM proposal_cosigners AS c JOIN members AS m ON m.id = c.member_id"
            " WHERE c.proposal_id IN ({marks}) ORDER BY c.rowid",
            ids,
            lambda row: CosignerRow(**row),
        )

    def cosigner_add(self, proposal_id: int, member_id: int) -> bool:
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO proposal_cosigners (proposal_id, member_id) VALUES (?, ?)", (proposal_id, member_id)
        )
        return cursor.rowcount == 1

    def cosigners_clear(self, proposal_id: int) -> None:
        self.db.execute("DELETE FROM proposal_cosigners WHERE proposal_id = ?", (proposal_id,))

    def cosigners_invite(self, proposal_id: int) -> None:
        self.db.execute(
            "UPDATE proposal_cosigners SET status = 'invited' WHERE proposal_id = ? AND status = 'named'",
            (proposal_id,),
        )

    def cosigner_answer(self, proposal_id: int, member_id: int, status: str, at: str) -> bool:
        """invited → agreed | declined; False when not invited (or already answered)."""
        cursor = self.db.execute(
            "UPDATE proposal_cosigners SET status = ?, answered_at = ?"
            " WHERE proposal_id = ? AND member_id = ? AND status = 'invited'",
            (status, at, proposal_id, member_id),
        )
        return cursor.rowcount == 1

    # ---- units ----------------------------------------------------------------------------

    def proposal_units(self, proposal_id: int) -> list[ProposalUnitRow]:
        return self.proposal_units_of([proposal_id])[proposal_id]

    def proposal_units_of(self, ids: list[int]) -> dict[int, list[ProposalUnitRow]]:
        """主办 first, then 协办 in the order named."""
        return self._by_proposal(
            "SELECT * FROM proposal_units WHERE proposal_id IN ({marks}) ORDER BY role DESC, rowid",
            ids,
            lambda row: ProposalUnitRow(**dict(row, opinion_file=_loads(row["opinion_file"]))),
        )

    def proposal_units_set(self, proposal_id: int, lead: str, helpers: list[str]) -> None:
        self.db.execute("DELETE FROM proposal_units WHERE proposal_id = ?", (proposal_id,))
        for unit_id, role in [(lead, "lead"), *((h, "helper") for h in helpers)]:
            self.db.execute(
                "INSERT INTO proposal_units (proposal_id, unit_id, role) VALUES (?, ?, ?)", (proposal_id, unit_id, role)
            )

    def proposal_unit_update(self, proposal_id: int, unit_id: str, fields: dict[str, Any], *, unset: str = "") -> bool:
        """Update one unit's row; with ``unset`` only while that column is still empty."""
        values = {key: (_dumps(value) if key == "opinion_file" else value) for key, value in fields.items()}
        assignments = ", ".join(f"{key} = :{key}" for key in values)
        condition = f" AND {unset} IS NULL" if unset else ""
        cursor = self.db.execute(
            f"UPDATE proposal_units SET {assignments} WHERE proposal_id = :p AND unit_id = :u{condition}",
            dict(values, p=proposal_id, u=unit_id),
        )
        return cursor.rowcount == 1

    def proposals_of_unit(self, unit_id: str, statuses: tuple[str, ...]) -> list[tuple[ProposalRow, str]]:
        """(proposal, role) for the unit's proposals in those statuses, earliest due first."""
        marks = ", ".join("?" for _ in statuses)
        rows = self._rows(
            f"SELECT p.*, u.role AS unit_role FROM proposals AS p JOIN proposal_units AS u ON u.proposal_id = p.id"
            f" WHERE u.unit_id = ? AND p.status IN ({marks}) ORDER BY p.reply_due, p.id",
            (unit_id, *statuses),
        )
        return [(_proposal({k: v for k, v in row.items() if k != "unit_role"}), row["unit_role"]) for row in rows]

    # ---- replies --------------------------------------------------------------------------

    def proposal_answer_draft(self, proposal_id: int, unit_id: str, round_: int) -> ReplyRow | None:
        rows = self._rows(
            "SELECT * FROM proposal_replies WHERE proposal_id = ? AND unit_id = ? AND round = ? AND status = 'draft'",
            (proposal_id, unit_id, round_),
        )
        return ReplyRow(**dict(rows[0], attachment=_loads(rows[0]["attachment"]))) if rows else None

    def proposal_answer_save(
        self, proposal_id: int, unit_id: str, round_: int, fields: dict[str, Any], by: int, at: str
    ):
        values = {key: (_dumps(value) if key == "attachment" else value) for key, value in fields.items()}
        if self.proposal_answer_draft(proposal_id, unit_id, round_) is None:
            self.db["proposal_replies"].insert(
                dict(values, proposal_id=proposal_id, unit_id=unit_id, round=round_, created_by=by, created_at=at)
            )
            return
        assignments = ", ".join(f"{key} = :{key}" for key in values)
        self.db.execute(
            f"UPDATE proposal_replies SET {assignments}"
            " WHERE proposal_id = :p AND unit_id = :u AND round = :r AND status = 'draft'",
            dict(values, p=proposal_id, u=unit_id, r=round_),
        )

    def proposal_answer_submit(self, reply_id: int, at: str) -> bool:
        cursor = self.db.execute(
            "UPDATE proposal_replies SET status = 'submitted', submitted_at = ? WHERE id = ? AND status = 'draft'",
            (at, reply_id),
        )
        return cursor.rowcount == 1

    def proposal_answers(self, proposal_id: int) -> list[ReplyRow]:
        return self.proposal_answers_of([proposal_id])[proposal_id]

    def proposal_answers_of(self, ids: list[int]) -> dict[int, list[ReplyRow]]:
        """Submitted replies, by round."""
        return self._by_proposal(
            "SELECT * FROM proposal_replies WHERE proposal_id IN ({marks}) AND status = 'submitted' ORDER BY round, id",
            ids,
            lambda row: ReplyRow(**dict(row, attachment=_loads(row["attachment"]))),
        )

    # ---- timeline -------------------------------------------------------------------------

    def proposal_event(self, proposal_id: int, at: str, actor: str, action: str, text: str = "") -> int:
        return (
            self.db["proposal_events"]
            .insert({"proposal_id": proposal_id, "at": at, "actor": actor, "action": action, "text": text})
            .last_pk
        )

    def proposal_events(self, proposal_id: int) -> list[EventRow]:
        return self.proposal_events_of([proposal_id])[proposal_id]

    def proposal_events_of(self, ids: list[int]) -> dict[int, list[EventRow]]:
        return self._by_proposal(
            "SELECT * FROM proposal_events WHERE proposal_id IN ({marks}) ORDER BY id", ids, lambda row: EventRow(**row)
        )

    def proposal_undelivered(self, since: str) -> list[tuple[int, str, str]]:
        """(proposal id, recipient key, status) of proposal messages created since ``since`` that
        could not be delivered (blocked, chat gone, failed for a day)."""
        rows = self._rows(
            "SELECT source_id, recipient_key, status FROM outbox WHERE source_kind = 'proposal'"
            " AND status IN ('failed', 'unreachable') AND created_at >= ? ORDER BY id",
            (since,),
        )
        return [(int(row["source_id"].partition(":")[0]), row["recipient_key"], row["status"]) for row in rows]

    # ---- typed answers the assistant waits for -------------------------------------------

    def proposal_input_set(
        self, telegram_id: int, what: str, proposal_id: int, until: str, data: dict | None = None
    ) -> None:
        self.db.execute(
            "INSERT INTO proposal_inputs (telegram_id, what, proposal_id, data, until) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (telegram_id) DO UPDATE SET what = excluded.what, proposal_id = excluded.proposal_id,"
            " data = excluded.data, until = excluded.until",
            (telegram_id, what, proposal_id, json.dumps(data or {}, ensure_ascii=False), until),
        )

    def proposal_input_of(self, telegram_id: int) -> InputRow | None:
        rows = self._rows("SELECT * FROM proposal_inputs WHERE telegram_id = ?", (telegram_id,))
        return InputRow(**dict(rows[0], data=json.loads(rows[0]["data"]))) if rows else None

    def proposal_input_clear(self, telegram_id: int) -> None:
        self.db.execute("DELETE FROM proposal_inputs WHERE telegram_id = ?", (telegram_id,))

    def proposal_inputs_clear(self, proposal_id: int, whats: tuple[str, ...]) -> None:
        marks = ", ".join("?" for _ in whats)
        self.db.execute(
            f"DELETE FROM proposal_inputs WHERE proposal_id = ? AND what IN ({marks})", (proposal_id, *whats)
        )
