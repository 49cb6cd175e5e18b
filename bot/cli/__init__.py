"""The `cppcc-bot` command line: the entry point (`main`: run, chat, ask, eval, plan) and one module
per feature (`people`, `calendar`, `notices`, `ledger`), with the shared wrapper in `support`.

The command line acts as a secretary on the database in `CPPCC_DB`; it may import any core
package, and nothing in the core imports it.
"""
