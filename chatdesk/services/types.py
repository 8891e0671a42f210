"""The stored values front ends handle, re-exported so that the UI never imports the store."""

from chatdesk.store import Conversation, Message, SearchHit

__all__ = ["Conversation", "Message", "SearchHit"]
