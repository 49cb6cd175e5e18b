"""Answering questions about the plan in the Chinese people actually type.

Owns: normalising a question (`normalize`), the vocabulary and the ranker (`matching`), the
example-question field (`examples`), colloquial unit names (`unitphrases`), questions about the
asker and out-of-scope topics (`routes`), intent detection and the answer (`engine`), the
transport-free conversation built on it (`dialogue`) and the accuracy measurement (`evaluation`).
May import: `plan`, `people` (a member's duties, for "我今年要提交什么") and the shared modules.
"""
