"""The core components one running assistant needs, built once and shared.

The Telegram application keeps a :class:`Services` in ``bot_data``; the
command line builds one too. Nothing here knows about Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.answers.dialogue import Dialogue
from bot.answers.engine import Engine, default_engine
from bot.config import Settings
from bot.flood import FloodGuard
from bot.people.progress import format_progress, member_progress
from bot.people.roles import Caller
from bot.plan.model import Plan
from bot.storage import Storage


@dataclass
class Services:
    settings: Settings
    engine: Engine
    dialogue: Dialogue
    storage: Storage
    flood: FloodGuard = field(default_factory=FloodGuard)
    plan_stamp: tuple | None = None  # plans/state.json as last seen (PlanStore.stamp)

    @property
    def plan(self) -> Plan:
        return self.engine.plan

    @classmethod
    def create(cls, settings: Settings) -> Services:
        """Load and validate every knowledge file, open the database; raise on any problem
        (ConfigError, PlanError, VocabularyError, StorageError) with a message naming the file."""
        engine = default_engine()
        services = cls(
            settings=settings,
            engine=engine,
            dialogue=Dialogue(engine),
            storage=Storage.from_settings(settings),
            flood=FloodGuard(settings.flood_limit, settings.flood_window),
        )
        try:
            services._plan_in_force()
            services.check_feature_files()
        except BaseException:
            services.close()
            raise
        return services

    def _plan_in_force(self) -> None:
        """An imported plan put in force for this database (bot/plan/store.py) replaces the
        knowledge directory's plan at start-up."""
        from bot.plan.model import PlanError, load_plan_in_force
        from bot.plan.store import PlanStore, PlanStoreError

        store = PlanStore.at(self.settings.db_path)
        self.plan_stamp = store.stamp()
        try:
            active = store.state()["active"]
        except PlanStoreError as exc:
            raise PlanError(str(exc)) from exc
        if active:
            self.use_plan(load_plan_in_force(self.settings.db_path))

    def follow_plan_in_force(self) -> str | None:
        """When plans/state.json changed since last seen (`cppcc-bot plan use|restore` while the
        bot runs), put the plan it names in force in this process. Returns what to tell the
        secretaries — the switch, or why the plan could not be used (the plan in force then
        stays) — or None when nothing changed. One stat call when nothing changed."""
        from bot.plan.model import load_plan_in_force
        from bot.plan.store import PlanStore

        stamp = PlanStore.at(self.settings.db_path).stamp()
        if stamp == self.plan_stamp:
            return None
        self.plan_stamp = stamp
        try:
            plan = load_plan_in_force(self.settings.db_path)
            if plan.data == self.plan.data:
                return None
            self.use_plan(plan)
        except (ValueError, OSError) as exc:  # PlanError, ConfigError, VocabularyError, ReminderError …
            self.storage.audit(None, "plan_follow_failed", {"error": str(exc)})
            return (
                f"命令行切换的方案无法使用：{exc}。机器人仍按原方案回答；"
                "请改正后重新运行 cppcc-bot plan use 或 plan restore。"
            )
        self.storage.audit(None, "plan_followed", {"title": plan.document.get("title"), "tasks": len(plan.tasks)})
        return f"现行方案已改为《{plan.document.get('title')}》（{len(plan.tasks)} 项任务，由命令行启用或恢复）。"

    def use_plan(self, plan: Plan) -> None:
        """Put ``plan`` in force in this process: the answers engine and dialogue are rebuilt on
        it, and every feature that asks for the default plan (ledger, reminders, notices) gets it.
        If the engine or the reminder rules do not load with it, nothing changes (the error
        is raised)."""
        from bot.answers.engine import Engine
        from bot.calendar.reminders import rules_for
        from bot.plan.model import use_plan

        previous = self.engine.plan
        use_plan(plan)
        try:
            engine = Engine.from_knowledge()
            rules_for(self.storage, plan=plan)
        except BaseException:
            use_plan(previous)
            raise
        self.engine = engine
        self.dialogue = Dialogue(engine)

    def activate_plan(self, token: str, actor: int | None = None) -> str:
        """Put the import previewed under ``token`` (bot/plan/store.py) in force, now and after
        restarts; the plan it replaces is kept for `cppcc-bot plan restore`. Returns the reply;
        UserError when the import is gone or the plan cannot be used (the plan in force stays)."""
        from bot.config import ConfigError
        from bot.errors import UserError
        from bot.plan.model import PlanError, imported_plan
        from bot.plan.store import PlanStore

        store = PlanStore.at(self.settings.db_path)
        pending = store.pending(token)
        if pending is None:
            raise UserError("这份方案的预览已失效（已启用、已取消或已过期），请重新发送方案文件。")
        previous = self.engine.plan
        try:
            plan = imported_plan(pending["plan"])
            self.use_plan(plan)
        except (PlanError, ConfigError, ValueError) as exc:
            raise UserError(f"无法启用这份方案：{exc}。现行方案不变。") from exc
        try:
            activation = store.activate(pending["plan"], token)
        except OSError as exc:
            self.use_plan(previous)
            raise UserError(f"无法保存方案（{exc.strerror}），现行方案不变。") from exc
        self.plan_stamp = store.stamp()  # this switch is not one to follow
        detail = {"source": pending["source"], "file": activation.path.name, "tasks": len(plan.tasks)}
        self.storage.audit(actor, "plan_activated", detail)
        return (
            f"已启用《{plan.document.get('title') or pending['source']}》：{len(plan.tasks)} 项任务，"
            f"问答、/item、/unit、任务台账和提醒从现在起按这份方案。\n"
            "上一份方案已保留：发送 /plan 可恢复（或在服务器上运行 cppcc-bot plan restore）。"
        )

    def restore_plan(self, actor: int | None = None) -> str:
        """Swap the plan in force with the previous one (as `cppcc-bot plan restore`), now and
        after restarts. Returns the reply; UserError when there is nothing to restore or the
        previous plan cannot be used (then the plan in force stays)."""
        from bot.errors import UserError
        from bot.plan.model import load_plan_in_force
        from bot.plan.store import PlanStore

        store = PlanStore.at(self.settings.db_path)
        try:
            store.restore()
        except (ValueError, OSError) as exc:  # PlanStoreError: nothing to restore, damaged state
            raise UserError(f"{exc}。") from exc
        try:
            plan = load_plan_in_force(self.settings.db_path)
            self.use_plan(plan)
        except (ValueError, OSError) as exc:
            store.restore()  # swap back: the plan in force stays
            raise UserError(f"无法恢复上一份方案：{exc}。现行方案不变。") from exc
        self.plan_stamp = store.stamp()
        self.storage.audit(actor, "plan_restored", {"file": store.in_force().name, "tasks": len(plan.tasks)})
        return (
            f"已恢复上一份方案《{plan.document.get('title')}》：{len(plan.tasks)} 项任务，问答、/item、/unit、"
            "任务台账和提醒从现在起按这份方案。再次恢复可回到刚才的方案。"
        )

    def check_feature_files(self) -> None:
        """The feature data files load and validate (the features load them again when used)."""
        from bot.calendar.meeting_config import default_config as meeting_config
        from bot.calendar.reminders import rules_for
        from bot.notices import default_config
        from bot.notices.audience import default_vocabulary
        from bot.people.statistics import default_points
        from bot.plan.term import default_term_settings
        from bot.proposals.config import default_config as proposal_settings
        from bot.tables import default_headers

        default_headers()
        default_term_settings()
        proposal_settings()
        default_vocabulary()
        default_config()
        rules_for(self.storage, plan=self.plan)
        meeting_config()
        default_points()

    def personal_progress(self, caller: Caller) -> str | None:
        """This year's duty progress of a bound member with their next event, for /mine and
        "我今年还差什么"; None for anyone else."""
        from bot.calendar.events import one_line, upcoming_for

        if caller.member_id is None:
            return None
        now = self.storage.now()
        text = format_progress(member_progress(self.storage, caller.member_id, now.year, now.date(), plan=self.plan))
        upcoming = upcoming_for(self.storage, caller, now, days=60)
        if upcoming:
            text += f"\n近期活动：{one_line(upcoming[0])}（发送 /events 查看全部）"
        return text

    def alert_secretaries(self, key: str, text: str) -> int:
        """Queue ``text`` for every secretary's private chat through the outbox, at most once per
        ``key`` (bot.people.identity.SecretaryAlert); return how many messages were new."""
        from bot.notices.outbox import Outgoing, enqueue

        secretaries = sorted(self.settings.admin_ids | {admin.telegram_id for admin in self.storage.admins()})
        messages = [Outgoing(f"secretary:{telegram_id}", telegram_id, text) for telegram_id in secretaries]
        return enqueue(self.storage, source_kind="alert", source_id=key, messages=messages, now=self.storage.now())

    def close(self) -> None:
        self.storage.close()
