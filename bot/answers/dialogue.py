"""The conversation, independent of any transport.

The Telegram handlers and `cppcc-bot chat` both turn user input into calls of
:class:`Dialogue` and render the :class:`Reply` it returns. Replies are plain
text; the transport escapes them and turns buttons into its own widgets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.answers.engine import Answer, Engine
from bot.answers.help import HelpBook, default_help
from bot.answers.normalize import strip_controls
from bot.numbers import NumberError, read_number
from bot.plan.tasknumber import parse_task_number
from bot.reply import Button, Reply

# Who is asking, as far as the dialogue needs to know: a function giving the
# caller's own duty progress text (None when the caller is not a bound member).
PersonalProgress = Callable[[], str | None]

ITEM_USAGE = "用法：/item 任务编号，例如 /item 33 或 /item 第33条"


class Dialogue:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.examples: list[str] = list(engine.messages["examples"])
        self.help_book: HelpBook = default_help()

    # ---- commands ------------------------------------------------------

    def start(self, capacities: Iterable[str] = ()) -> Reply:
        """Welcome, with what this person can do (knowledge/help.json "start"; nothing about the
        person when no capacities are given, as in a group)."""
        buttons = [[Button(q, f"q:{i}")] for i, q in enumerate(self.examples[:4])]
        line = self.help_book.start_line(capacities)
        return Reply(self.engine.text("welcome") + (f"\n\n{line}" if line else ""), buttons)

    def help(self, capacities: Iterable[str] | None = None) -> Reply:
        """The plan questions everyone can ask, then each capacity's commands with an example
        (None, as in a group: a pointer to the private help instead)."""
        examples = "\n".join(f"· {q}" for q in self.examples)
        text = self.engine.messages["help"].format(examples=examples)
        return Reply(f"{text}\n\n{self.help_book.help_text(capacities)}")

    def ask(self, text: str, personal: PersonalProgress | None = None) -> Reply:
        if not text.strip():
            return Reply(self.engine.text("empty"))
        topic = self.help_book.topic(text)
        if topic is not None:
            return Reply(topic.text())
        return self._render(self.engine.answer(text, personal))

    def route(self, text: str) -> str | None:
        """Where a question about the asker goes: progress | proposals | binding, else None (the plan)."""
        return self.engine.personal_route(text)

    def item(self, argument: str) -> Reply:
        if not strip_controls(argument).strip():
            return Reply("请在命令后写任务编号，例如：/item 33")
        try:
            number = parse_task_number(strip_controls(argument), self.engine.plan, ITEM_USAGE)
        except NumberError as exc:
            return Reply(exc.message)
        return self._render(self.engine.task_answer(number))

    def unit(self, argument: str) -> Reply:
        if not argument.strip():
            names = "、".join(u.short for u in self.engine.plan.catalogue.plan_units())
            return Reply(f"请在命令后写单位名称，例如：/unit 统战部\n方案中的责任单位：{names}")
        return self._render(self.engine.unit_by_name(argument))

    def callback(self, data: str, personal: PersonalProgress | None = None) -> Reply:
        """A button press. Unknown or stale data gets a polite note, never an error."""
        kind, _, value = data.partition(":")
        number = read_number(value, low=0)
        if kind == "t" and number is not None:
            return self._render(self.engine.task_answer(number))
        if kind == "u" and value in self.engine.plan.catalogue.units:
            return self._render(self.engine.unit_answer(value))
        if kind == "q" and number is not None and number < len(self.examples):
            return self.ask(self.examples[number], personal)
        return Reply("这个按钮已失效，请重新提问或发送 /help。", refusal=True)

    def duties(self, personal: PersonalProgress | None = None) -> Reply:
        """What every member must do this year, with the caller's own progress (deep link "duties")."""
        return self._render(self.engine.duties_answer(personal))

    # ---- rendering -----------------------------------------------------

    def _render(self, answer: Answer) -> Reply:
        buttons: list[list[Button]] = []
        if answer.intent == "candidates":
            buttons = [[Button(f"第（{n}）项", f"t:{n}")] for n in answer.items]
        elif answer.intent in ("topic", "numbers") and answer.items:
            buttons = [[Button(f"查看第（{answer.items[0]}）项全文", f"t:{answer.items[0]}")]]
        elif answer.related:  # out of scope: the related task, for reference
            buttons = [[Button(f"查看相关的第（{n}）项", f"t:{n}")] for n in answer.related]
        return Reply(answer.reply, buttons, personal=answer.personal)
