"""The `cppcc-bot` command line.

Imports are deferred into each command so that `cppcc-bot ask` starts fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _fail(message: str, code: int = 1) -> int:
    print(f"错误：{message}", file=sys.stderr)
    return code


def cmd_plan_build(args: argparse.Namespace) -> int:
    from bot.config import knowledge_dir
    from bot.plan.build import dump_plan, load_json, write_atomically
    from bot.plan.importer import Knowledge, import_plan

    source = Path(args.source)
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        return _fail(f"找不到文件 {source}")
    except OSError as exc:
        return _fail(f"无法读取 {source}：{exc.strerror}")
    kdir = knowledge_dir()
    same = dict(pair.split("=", 1) for pair in args.same or [] if "=" in pair)
    knowledge = Knowledge.load(kdir)
    knowledge = Knowledge(
        load_json(Path(args.units)) if args.units else knowledge.units,
        knowledge.departments,
        load_json(Path(args.obligations)) if args.obligations else knowledge.obligations,
    )
    obligations = False if args.no_obligations else (True if args.obligations else None)
    result = import_plan(data, str(source), knowledge, same=same, obligations=obligations)
    print(result.preview.text())
    if result.plan is None:
        for problem in [*result.preview.problems, *result.preview.without_units]:
            print(f"错误：{source}: {problem}", file=sys.stderr)
        return 1
    for unit in result.preview.new_units:
        print(f"提示：单位“{unit.label}”不在单位目录中，已自动建立条目", file=sys.stderr)
    write_atomically(Path(args.output), dump_plan(result.plan))
    units = len(result.plan["units"])
    print(f"已写入 {args.output}：{len(result.plan['tasks'])} 项任务，{units} 个责任单位")
    return 0


def cmd_plan_check(args: argparse.Namespace) -> int:
    from bot.plan.model import PlanError, load_plan, load_plan_in_force
    from bot.plan.store import PlanStore

    try:
        plan = load_plan(args.path) if args.path else load_plan_in_force()
    except PlanError as exc:
        return _fail(str(exc))
    if not args.path:
        print(f"现行方案：{PlanStore.at().in_force()}")
    doc = plan.document
    print((doc.get("title") or "（无标题）") + (f"（{doc['doc_number']}）" if doc.get("doc_number") else ""))
    issued = [
        f"{label} {doc[key]}" for key, label in (("issued_date", "印发"), ("published_date", "发布")) if doc.get(key)
    ]
    if issued or doc.get("issuer"):
        print("，".join([*issued, *([doc["issuer"]] if doc.get("issuer") else [])]))
    counts = plan.summary()
    print(
        f"任务大类 {counts['areas']} · 分组 {counts['groups']} · 任务 {counts['tasks']} · "
        f"责任单位 {counts['units']} · 量化要求 {counts['obligations']}"
    )
    for area in plan.areas:
        numbers = [t.number for t in plan.tasks if t.area == area.number]
        print(f"  ({area.number}) {area.title}: 任务 ({numbers[0]})–({numbers[-1]})")
    return 0


def cmd_plan_use(args: argparse.Namespace) -> int:
    """Put a built plan.json in force (the current plan is kept for `plan restore`)."""
    from bot.config import knowledge_dir
    from bot.plan.model import PlanError, load_plan
    from bot.plan.store import PlanStore

    try:
        plan = load_plan(args.path, departments=knowledge_dir() / "departments.json")
    except PlanError as exc:
        return _fail(str(exc))
    problem = _unusable(plan)
    if problem:
        return _fail(f"这份方案不能启用：{problem}。现行方案不变。")
    activation = PlanStore.at().activate(plan.data)
    print(f"已启用 {args.path}（保存为 {activation.path}）；上一份方案可用 cppcc-bot plan restore 恢复。")
    print("正在运行的机器人在 10 秒内改用新方案，并告知各位秘书。")
    return 0


def _unusable(plan) -> str | None:
    """Why the answers engine or the reminder rules refuse ``plan`` (what the bot checks on
    [启用] and at start-up), or None."""
    from bot.answers.engine import Engine
    from bot.calendar.reminders import load_rules
    from bot.plan.model import use_plan

    try:
        use_plan(plan)
        Engine.from_knowledge()
        load_rules(plan=plan)
    except ValueError as exc:  # VocabularyError, CatalogueError, ReminderError, ConfigError …
        return str(exc)
    finally:
        use_plan(None)
    return None


def cmd_plan_restore(args: argparse.Namespace) -> int:
    from bot.plan.model import PlanError, load_plan_in_force
    from bot.plan.store import PlanStore, PlanStoreError

    store = PlanStore.at()
    try:
        path = store.restore()
        plan = load_plan_in_force()
    except (PlanStoreError, PlanError) as exc:
        return _fail(str(exc))
    print(f"已恢复上一份方案：{plan.document.get('title')}（{len(plan.tasks)} 项任务，{path}）")
    print("正在运行的机器人在 10 秒内改用恢复的方案，并告知各位秘书。")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    import json

    from bot.answers.engine import default_engine

    engine = default_engine()
    questions = args.questions or (line.rstrip("\n") for line in sys.stdin)
    for question in questions:
        answer = engine.answer(question)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False))
        else:
            if answer.route:  # a question about the asker: where the bot takes them
                print(f"[转到：{answer.route}]")
            print(answer.reply)
            print()
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.answers.dialogue import Dialogue
    from bot.answers.engine import default_engine
    from bot.cli.chat import run_chat

    return run_chat(Dialogue(default_engine()))


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.answers.engine import default_engine
    from bot.answers.evaluation import evaluate, load_questions

    path = Path(args.file) if args.file else Path(__file__).resolve().parents[2] / "tests" / "data" / "questions.jsonl"
    try:
        questions = load_questions(path)
    except (OSError, ValueError) as exc:
        return _fail(str(exc))
    print(evaluate(default_engine(), questions).render())
    return 0


def _check_database(path: Path) -> None:
    """A database file that is not SQLite or is malformed stops the start with one line (a
    DatabaseDamaged naming the file and the restore steps); a missing file is created later."""
    from bot.storage import DatabaseDamaged
    from bot.storage.backup import check_database

    if path.exists():
        problems = check_database(path, quick=True)
        if problems:
            raise DatabaseDamaged(path, problems[0])


def cmd_run(args: argparse.Namespace) -> int:
    """Check settings, knowledge files, database and token, each failing in one line; then run."""
    import asyncio
    import os

    from bot.answers.matching import VocabularyError
    from bot.config import ConfigError, Settings, parse_admin_ids, parse_tz
    from bot.plan.model import PlanError
    from bot.plan.units import CatalogueError

    try:
        settings = Settings.from_env(
            base_url=args.base_url,
            db_path=Path(args.db) if args.db else None,
            admin_ids=parse_admin_ids(args.admin_ids) if args.admin_ids else None,
            tz=parse_tz(args.tz) if args.tz else None,
        )
    except ConfigError as exc:
        return _fail(str(exc))
    if not settings.token:
        return _fail("缺少 TELEGRAM_BOT_TOKEN：请在环境变量中设置机器人令牌（见 README 和 .env.example）")
    from telegram import Update
    from telegram.error import InvalidToken, NetworkError

    from bot.logsetup import setup_logging
    from bot.services import Services
    from bot.storage import StorageError
    from handlers.app import build_application, check_token

    secret = os.environ.get("CPPCC_WEBHOOK_SECRET") or None
    setup_logging([settings.token, secret or ""])
    rejected = "Telegram 拒绝了 TELEGRAM_BOT_TOKEN（令牌无效或已被撤销）"
    try:
        _check_database(settings.db_path)
        services = Services.create(settings)
    except (ConfigError, PlanError, VocabularyError, CatalogueError, StorageError) as exc:
        return _fail(str(exc))
    try:
        asyncio.run(check_token(settings))
        app = build_application(settings, services)
        if args.webhook_url:
            app.run_webhook(
                listen=args.listen,
                port=args.port,
                url_path=args.url_path,
                webhook_url=args.webhook_url,
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            app.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        return _fail(rejected)
    except NetworkError as exc:
        return _fail(f"无法连接 Telegram Bot API：{type(exc).__name__}")
    finally:
        services.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    from bot.cli import calendar as cli_events
    from bot.cli import db as cli_db
    from bot.cli import ledger as cli_ledger
    from bot.cli import notices as cli_notices
    from bot.cli import people as cli_people
    from bot.cli import proposals as cli_proposals

    parser = argparse.ArgumentParser(prog="cppcc-bot", description="政协履职助手")
    sub = parser.add_subparsers(dest="command", required=True)

    plan = sub.add_parser("plan", help="方案数据：构建与检查").add_subparsers(dest="plan_command", required=True)
    build = plan.add_parser("build", help="从方案原文（.txt/.docx/.xlsx）构建 plan.json，并打印预览")
    build.add_argument("source")
    build.add_argument("-o", "--output", required=True)
    build.add_argument("--units", help="单位目录（默认 knowledge/units.json）")
    build.add_argument("--obligations", help="量化要求（默认 knowledge/obligations.json）")
    build.add_argument("--no-obligations", action="store_true", help="不附加量化要求（用于其他县的方案）")
    build.add_argument(
        "--same", action="append", metavar="新名称=已有单位", help="把方案里的单位名并入目录中已有的单位"
    )
    build.set_defaults(func=cmd_plan_build)
    check = plan.add_parser("check", help="校验 plan.json 并打印摘要（不带文件时为现行方案）")
    check.add_argument("path", nargs="?")
    check.set_defaults(func=cmd_plan_check)
    use = plan.add_parser("use", help="启用构建好的 plan.json（现行方案保留，可恢复）")
    use.add_argument("path")
    use.set_defaults(func=cmd_plan_use)
    restore = plan.add_parser("restore", help="恢复启用前的上一份方案")
    restore.set_defaults(func=cmd_plan_restore)

    ask = sub.add_parser("ask", help="回答问题（不带问题时从标准输入逐行读取）")
    ask.add_argument("questions", nargs="*")
    ask.add_argument("--json", action="store_true", help="每个问题输出一行 JSON")
    ask.set_defaults(func=cmd_ask)
    sub.add_parser("chat", help="在终端里与助手对话（无需 Telegram）").set_defaults(func=cmd_chat)
    run = sub.add_parser("run", help="启动 Telegram 机器人（需要 TELEGRAM_BOT_TOKEN）")
    run.add_argument("--base-url", help="Bot API 服务器地址（默认官方；覆盖 TELEGRAM_API_BASE_URL）")
    run.add_argument("--db", help="SQLite 数据库文件（覆盖 CPPCC_DB）")
    run.add_argument("--admin-ids", help="政协办秘书的 Telegram 用户 id，逗号分隔（覆盖 CPPCC_ADMIN_IDS）")
    run.add_argument("--tz", help="时区（覆盖 CPPCC_TZ，默认 Asia/Shanghai）")
    run.add_argument("--webhook-url", help="使用 webhook 模式：Telegram 访问的公开地址")
    run.add_argument("--listen", default="127.0.0.1", help="webhook 模式监听地址")
    run.add_argument("--port", type=int, default=8443, help="webhook 模式监听端口")
    run.add_argument("--url-path", default="telegram", help="webhook 模式的路径")
    run.set_defaults(func=cmd_run)
    for module in (cli_people, cli_events, cli_notices, cli_ledger, cli_db, cli_proposals):
        module.register(sub)
    evaluation = sub.add_parser("eval", help="在评测集上统计准确率")
    evaluation.add_argument("file", nargs="?")
    evaluation.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        # The reader went away (cppcc-bot eval | head): stop quietly like other command-line tools;
        # stdout goes to devnull so that the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        # A broken knowledge file or database is the operator's to fix: one line naming it, no traceback.
        from bot.answers.matching import VocabularyError
        from bot.config import ConfigError
        from bot.plan.model import PlanError
        from bot.plan.units import CatalogueError
        from bot.storage import StorageError

        if isinstance(exc, ConfigError | PlanError | VocabularyError | CatalogueError | StorageError):
            return _fail(str(exc))
        raise


if __name__ == "__main__":
    sys.exit(main())
