"""Markdown and JSON export of conversations, and JSON import."""
