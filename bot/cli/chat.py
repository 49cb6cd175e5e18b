"""`cppcc-bot chat`: the Telegram conversation in a terminal, through the same Dialogue."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.answers.dialogue import Dialogue
from bot.answers.help import ROLES
from bot.numbers import read_number
from bot.reply import Reply

PROMPT = "您> "
HINT = "（输入问题回车；/help 查看命令；!1 表示点按第1个按钮；/quit 退出）"
TERMINAL_NOTE = "（在终端里可以提问，也可用 /item、/unit、/ask；其余命令请在 Telegram 中使用，按身份分列如上。）"


def render(reply: Reply, out: TextIO) -> None:
    print(reply.text, file=out)
    flat = [button for row in reply.buttons for button in row]
    for index, button in enumerate(flat, start=1):
        print(f"  [!{index}] {button.text}", file=out)
    print(file=out)


def respond(dialogue: Dialogue, line: str, last: Reply | None) -> Reply:
    """One line of terminal input → the reply, routing commands like the bot does."""
    text = line.strip()
    if text.startswith("!") and last is not None:
        flat = [button for row in last.buttons for button in row]
        index = read_number(text[1:], high=len(flat))
        if index is not None:
            return dialogue.callback(flat[index - 1].data)
        return Reply("没有这个按钮。")
    if text.startswith("/"):
        command, _, argument = text[1:].partition(" ")
        command = command.split("@")[0].lower()
        if command == "start":
            return dialogue.start()
        if command == "help":  # the terminal is nobody's group: every role's commands, not a pointer
            shown = dialogue.help(ROLES)
            return Reply(f"{shown.text}\n\n{TERMINAL_NOTE}", shown.buttons)
        if command in ("item", "task"):
            return dialogue.item(argument)
        if command == "unit":
            return dialogue.unit(argument)
        if command == "ask":
            return dialogue.ask(argument)
        return Reply("未知命令。发送 /help 查看可用命令。")
    return dialogue.ask(text)


def run_chat(dialogue: Dialogue, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    interactive = stdin.isatty()
    last = dialogue.start()
    render(last, stdout)
    if interactive:
        print(HINT, file=stdout)
    while True:
        if interactive:
            print(PROMPT, end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line or line.strip() in ("/quit", "/exit"):
            return 0
        if not line.strip():
            continue
        route = None if line.strip().startswith(("/", "!")) else dialogue.route(line)
        if route:  # a question about the asker: the bot opens their own screen
            print(f"[转到：{route}]", file=stdout)
        last = respond(dialogue, line, last)
        render(last, stdout)
