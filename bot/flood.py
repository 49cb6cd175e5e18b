"""Per-user flood guard: more than `limit` messages within `window` seconds → one warning, then silence.

Memory is bounded by the users active within the last window or two: at most once per window, a
check sweeps out every user whose messages have all left the window and who is not blocked.
"""

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
    _next_sweep: float | None = None

    def check(self, user_id: int, now: float) -> Verdict:
        self._sweep_if_due(now)
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
        return Verdict.PASS

    def tracked(self) -> int:
        """Users the guard holds state for (for tests and diagnostics)."""
        return len(self._seen.keys() | self._blocked_until.keys())

    def forget_idle(self, now: float) -> None:
        """Drop the state of users with no message inside the window and no block in force."""
        self._seen = {user: times for user, times in self._seen.items() if times and now - times[-1] < self.window}
        self._blocked_until = {user: until for user, until in self._blocked_until.items() if now < until}

    def _sweep_if_due(self, now: float) -> None:
        if self._next_sweep is None or now >= self._next_sweep:
            self.forget_idle(now)
            self._next_sweep = now + self.window
