"""What the core answers a user with, independent of any transport.

A :class:`Reply` is plain text plus buttons; the Telegram layer escapes it and turns the buttons
into its own widgets, `cppcc-bot chat` prints it. Every feature builds replies from these two
types, so they sit at the top level of the core, below all feature packages.

Each reply also says who may see it. ``personal`` marks anything about a person (identity,
phone, duty counts, records, proposal titles, leave reasons, receipt lists, progress tables,
a unit's tasks, one's events): the transport delivers such a reply only in a private chat.
``refusal`` marks a short answer about the asker's own request (not permitted, stale button,
wrong step): after a button press in a group only the presser sees it. Everything else
(plan answers, help, general rules) is public.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CALLBACK_LIMIT = 64  # bytes, Telegram's callback_data limit


@dataclass(frozen=True)
class Button:
    text: str
    data: str  # callback data: "t:33" task, "u:<unit id>" unit, "q:<n>" example question

    def __post_init__(self) -> None:
        if len(self.data.encode("utf-8")) > CALLBACK_LIMIT:
            raise ValueError(f"callback data over {CALLBACK_LIMIT} bytes: {self.data!r}")


@dataclass
class Reply:
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    contact_request: str | None = None  # label of a "share my phone number" keyboard button
    remove_keyboard: bool = False  # take away a keyboard shown earlier
    personal: bool = False  # about a person: only ever delivered in a private chat
    refusal: bool = False  # a short "no" about the asker's own request: shown to the asker only
