"""Reminder jobs (PTB JobQueue)."""
