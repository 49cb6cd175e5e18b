"""Proposals (提案) and 社情民意 through the assistant: members write (案由 → 正文 → 联名 →
preview → 提交), co-signers agree or decline, secretaries review (立案 with a number and
主办/协办 units → 交办; 不予立案 with a reason; 转社情民意; 退回修改), units sign, ask to return,
give 协办意见 and reply (答复 with 办理结果 A/B/C and an optional 答复函), the member rates the
reply (不满意 reopens it), 社情民意 are 采用 / 报送 / 不予采用 with 领导批示; registers and
statistics for the office.

Life of a proposal (``proposals.status``)::

    draft ─提交─▶ cosigning ─all answered / wait over─▶ review ─立案─▶ accepted ─交办─▶ assigned
      │  (no co-signers) ───────────────────────────────▶ review        ▲  申请退回 ◀──┘ │
      └─▶ discarded (取消, or expired)     review ─不予立案─▶ rejected                     │答复
                                           review ─退回修改─▶ returned ─修改─▶ draft        ▼
                                           review ─转社情民意─▶ (kind opinion) review   replied
                                                          closed ◀─满意/基本满意─┘  └─不满意─▶ assigned (round+1)

A 社情民意: draft → review → adopted → reported, or not_adopted; 批示 recorded on adopted/reported.

Every change is one transaction (bot.proposals.desk.change): the status (conditional, so a
stale or double button press changes nothing), a timeline entry, the linked record that
/mine, /progress and the reply-deadline reminders read, the outbox rows that tell the people
concerned (delivered by the notices' outbox sender: nothing lost or sent twice across
restarts), and the audit entry.

Owns: settings (`config`), the shared helpers and the transaction (`desk`), writing and
co-signing (`drafts`), review (`review`), units and ratings (`handling`), what is shown
(`views`), routing of typed input and buttons (`flow`), registers and statistics (`export`),
the periodic pass (`sweep`).
May import: `plan`, `people`, `notices` and the shared modules.
"""
