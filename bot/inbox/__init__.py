"""A member's inbox and the replies members type as they would in WeChat.

Owns: the inbox (`items`: the notices and meetings addressed to a person, newest first, with
what is still unread or unanswered; the one "您有 N 条未读通知" message after a late binding)
and typed replies (`typed`: “收到 / 好的 / 准时参加 / 我请假，孩子生病 / 签到” read into an intent
and routed to the latest open notice or meeting).
May import: `plan`, `people`, `notices` (receipts), `calendar` (meetings, replies, sign-in) and
the shared modules.
"""
