"""`cppcc-bot chat`: the terminal conversation shows the help itself, not a pointer to a private chat."""

from __future__ import annotations

import io

from bot.answers.dialogue import Dialogue
from bot.answers.engine import default_engine
from bot.cli.chat import run_chat


def _chat(*lines: str) -> str:
    out = io.StringIO()
    run_chat(Dialogue(default_engine()), io.StringIO("".join(f"{line}\n" for line in lines)), out)
    return out.getvalue()


def test_help_in_the_terminal_lists_every_roles_commands() -> None:
    shown = _chat("/help")
    assert "私聊中发送 /help" not in shown
    for heading in ("【政协委员】", "【单位联络员】", "【政协办秘书】"):
        assert heading in shown
    assert "/item 33" in shown and "/ledger export" in shown


def test_a_how_to_question_gets_its_steps() -> None:
    shown = _chat("怎么导入名册")
    assert "名册" in shown and "确认" in shown
