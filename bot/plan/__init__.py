"""The implementation plan: its text parsed and built into data, and the model the rest reads.

Owns: parsing a published plan (`parse`), building `plan.json`, `units.json` and
`obligations.json` from it (`build`), the validated plan model (`model`), the unit catalogue
(`units`), the term (届) dates (`term`) and task numbers as people type them after a command
(`tasknumber`).
May import: the shared top-level modules of `bot` only. Every other feature reads the plan.
"""
