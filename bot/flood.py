"""Per-user flood guard: more than `limit` messages within `window` seconds → one warning, then silence."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum


class Verdict(Enum):
    PASS = "pass"
    WARN = "warn"  # over the limit just now: tell the user once
    DROP = "drop"  # still inside the penalty window: ignore


@dataclass
class FloodGuard:
    limit: int = 8
    window: float = 10.0
    _seen: dict[int, deque[float]] = field(default_factory=dict)
    _blocked_until: dict[int, float] = field(default_factory=dict)

    def check(self, user_id: int, now: float) -> Verdict:
        until = self._blocked_until.get(user_id)
        if until is not None:
            if now < until:
                return Verdict.DROP
            del self._blocked_until[user_id]
            self._seen.pop(user_id, None)
        times = self._seen.setdefault(user_id, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        times.append(now)
        if len(times) > self.limit:
            self._blocked_until[user_id] = now + self.window
            return Verdict.WARN
        if len(self._seen) > 10_000:
            self._forget_idle(now)
        return Verdict.PASS

    def _forget_idle(self, now: float) -> None:
        for user_id in [u for u, t in self._seen.items() if not t or now - t[-1] >= self.window]:
            del self._seen[user_id]
