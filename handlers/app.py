"""The Telegram application: one builder, start-up work in post_init, handlers registered in order.

Modelled on python-telegram-bot's rules-bot: ``Defaults`` for parse mode and
time zone, the core services kept in ``bot_data``, thin handler modules.
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.config import Settings
from bot.send_budget import SendBudget
from bot.services import Services
from handlers import (
    answers,
    calendar,
    errors,
    files,
    guards,
    inbox,
    ledger,
    notices,
    office,
    people,
    plans,
    privacy,
    proposals,
)
from handlers.common import SERVICES_KEY
from handlers.processor import PerChatUpdateProcessor
from handlers.ratelimit import BudgetRateLimiter
from scheduler.backup import BackupScheduler

COMMANDS = [
    BotCommand("start", "开始使用 / 验证身份"),
    BotCommand("help", "使用说明和示例问题"),
    BotCommand("ask", "提问，例如 /ask 委员活动的经费谁出"),
    BotCommand("item", "查看某项任务，例如 /item 33"),
    BotCommand("unit", "某单位负责的任务，例如 /unit 统战部"),
]

NON_TEXT = (
    filters.PHOTO
    | filters.Sticker.ALL
    | filters.VOICE
    | filters.AUDIO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.LOCATION
    | filters.Document.ALL
    | filters.ANIMATION
    | filters.POLL
    | filters.VENUE
)


# Feature modules: each has COMMANDS (everyone's menu), SECRETARY_COMMANDS (secretaries' menu),
# register(app), startup(app) and shutdown(app).
FEATURES = (people, proposals, calendar, notices, ledger, files, plans, inbox, office)

log = logging.getLogger(__name__)
BACKUP_KEY = "backup.scheduler"  # the daily database backup (scheduler/backup.py)


def menus() -> tuple[list[BotCommand], list[BotCommand]]:
    """Everyone's command menu, and the secretaries' (everyone's plus their own commands)."""
    public = COMMANDS + [c for feature in FEATURES for c in feature.COMMANDS]
    return public, public + [c for feature in FEATURES for c in getattr(feature, "SECRETARY_COMMANDS", [])]


async def on_startup(app: Application) -> None:
    """post_init: the command menus (Chinese descriptions), then each feature's start-up work."""
    await app.bot.set_my_commands(menus()[0])  # the secretaries' menus: office.startup
    services = app.bot_data[SERVICES_KEY]
    for feature in FEATURES:
        await feature.startup(app)
    backups = BackupScheduler.from_settings(services.settings)
    if backups is not None:
        app.bot_data[BACKUP_KEY] = backups
        backups.start(app.job_queue)


async def on_stop(app: Application) -> None:
    """post_stop, before the HTTP client closes: the outbox sender lets its requests in flight
    finish and stops (stopping it later, in post_shutdown, failed those requests with a closed
    connection although Telegram may have delivered them, so they were sent again after a
    restart). notices.shutdown is idempotent; post_shutdown calls it again."""
    await notices.shutdown(app)


async def on_shutdown(app: Application) -> None:
    backups = app.bot_data.pop(BACKUP_KEY, None)
    if backups is not None:
        backups.stop()
    for feature in FEATURES:
        await feature.shutdown(app)
    app.bot_data[SERVICES_KEY].close()


def register_handlers(app: Application) -> None:
    new_messages = filters.UpdateType.MESSAGE
    app.add_handler(TypeHandler(Update, privacy.remember), group=-2)  # who asked, for the privacy rule
    guards.register(app)  # the flood guard (group -1) and the sweep of expired per-user state
    app.add_handler(CommandHandler("start", answers.start, filters=new_messages))
    app.add_handler(CommandHandler("help", answers.help_command, filters=new_messages))
    app.add_handler(CommandHandler("ask", answers.ask, filters=new_messages))
    app.add_handler(CommandHandler(["item", "task"], answers.item, filters=new_messages))
    app.add_handler(CommandHandler("unit", answers.unit, filters=new_messages))
    for feature in FEATURES:
        feature.register(app)
    app.add_handler(CallbackQueryHandler(answers.button))
    app.add_handler(MessageHandler(new_messages & filters.TEXT & ~filters.COMMAND, answers.text_message))
    app.add_handler(MessageHandler(new_messages & filters.COMMAND, answers.unknown_command))
    app.add_handler(MessageHandler(new_messages & NON_TEXT, answers.non_text))
    app.add_handler(TypeHandler(Update, privacy.settle), group=1)  # answer button presses left open
    app.add_error_handler(errors.on_error)


def _api_base(settings: Settings) -> str | None:
    """Server root from TELEGRAM_API_BASE_URL (accepted with or without the trailing /bot)."""
    return settings.base_url.rstrip("/").removesuffix("/bot") if settings.base_url else None


async def check_token(settings: Settings) -> None:
    """One getMe before start-up, so a rejected token is a clear error, not a logged traceback."""
    base = _api_base(settings)
    kwargs = {"base_url": f"{base}/bot", "base_file_url": f"{base}/file/bot"} if base else {}
    async with Bot(settings.token, **kwargs) as bot:
        await bot.get_me()


def build_application(settings: Settings, services: Services | None = None) -> Application:
    if not settings.token:
        raise ValueError("a bot token is required")
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz))
        # One budget for replies, edits, notices and reminders (the outbox sends through this bot).
        .rate_limiter(BudgetRateLimiter(SendBudget(settings.send_rate, settings.per_chat_interval)))
        .read_timeout(settings.read_timeout)
        .write_timeout(settings.read_timeout)
        .concurrent_updates(PerChatUpdateProcessor(64))
        .post_init(on_startup)
        .post_stop(on_stop)
        .post_shutdown(on_shutdown)
    )
    base = _api_base(settings)
    if base:
        builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    app = builder.build()
    app.bot.rate_limiter.stopping = lambda: not app.running  # replies stop retrying at shutdown
    app.bot_data[SERVICES_KEY] = services or Services.create(settings)
    register_handlers(app)
    return app
