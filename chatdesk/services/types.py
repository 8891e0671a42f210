"""Stored values (and the store's error) for front ends, so that the UI never imports the store."""

from chatdesk.store import Conversation, Message, SearchHit, StoreError

__all__ = ["Conversation", "Message", "SearchHit", "StoreError"]
