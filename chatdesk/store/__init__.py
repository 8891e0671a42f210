"""Conversation store: SQLite through sqlite-utils, with migrations and full-text search."""
