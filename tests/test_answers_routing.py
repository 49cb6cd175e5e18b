"""End to end: questions about the asker open their own screens, not plan text (fake Bot API server).

我的履职情况 / 我这个委员今年还欠啥 → the member's progress (/mine); 我的提案办得怎么样了 → their
proposals (the proposals screen when registered, else /mine); 验证身份 → the binding step (who
they are, once verified). An unbound asker gets the binding hint; in a group the privacy rule keeps the content private.
"""

from __future__ import annotations

import re

from handlers.app import build_application
from tests.conftest import make_settings, running
from tests.test_bot_people import GROUP, STRANGER, ZHANG, _ask, _import_roster, _share_contact


async def test_personal_questions_route_to_the_members_own_screens(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    _import_roster(db, tmp_path)
    app = build_application(make_settings(tg, db))
    async with running(app):
        # Unbound: a binding hint and the contact button, no plan text.
        tg.inject_message(STRANGER, "我的履职情况")
        hint, prompt = await tg.wait_for_messages(STRANGER, 2)
        assert "验证身份" in hint.plain_text and "（" not in hint.plain_text
        assert prompt.reply_markup["keyboard"][0][0]["request_contact"] is True

        mark = tg.mark()
        tg.inject_message(STRANGER, "怎么绑定身份")
        binding, _prompt = await tg.wait_for_messages(STRANGER, 2, since=mark)
        assert "/bind" in binding.plain_text and "/start" in binding.plain_text

        await _share_contact(tg, ZHANG, "8613812345678")
        for question in ("我的履职情况", "我这个委员今年还欠啥", "/ask 本人今年还差啥"):
            mine = await _ask(tg, ZHANG, question)
            assert "提案 0/1 ❗" in mine.plain_text, question
        assert "您是：张三" in (await _ask(tg, ZHANG, "验证身份")).plain_text  # already verified
        proposals = await _ask(tg, ZHANG, "我的提案办得怎么样了")
        assert "提案" in proposals.plain_text and "（18）" not in proposals.plain_text

        # The plan is still answered from the plan.
        assert "（45）" in (await _ask(tg, ZHANG, "委员活动的钱谁出")).plain_text

        # In a group: one public line pointing to the private chat; the content goes there.
        mark = tg.mark()
        tg.inject_message(ZHANG, "@cppcc_helper_bot 我的履职情况", chat_id=GROUP, chat_type="supergroup")
        public = await tg.wait_for_reply(GROUP)
        assert "私聊" in public.plain_text and not re.search(r"\d/1", public.plain_text)
        private = (await tg.wait_for_messages(ZHANG, 1, since=mark))[0]
        assert "提案 0/1 ❗" in private.plain_text
