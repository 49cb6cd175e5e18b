"""Core of the CPPCC assistant: no Telegram here."""
