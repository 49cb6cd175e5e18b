"""Who is talking and what they have done.

Owns: identity and binding (`identity`: phone numbers, codes, secretaries), the roster and unit
contact imports (`roster`), duty records and the proposal life cycle (`records`), a member's
yearly duties as the plan sets them (`duties`), progress against them (`progress`) and every
permission check (`roles`).
May import: `plan` and the shared modules. Every other feature asks `roles` for permission.
"""
