"""The services one command-line command needs, over the user's database: opened, closed.

The command line goes through services only (``tests/test_layering.py``): it never opens a
``Store`` or a hub ``Downloader`` itself. A command that chats builds ``AppServices``; the
others (list, show, export, import, rm, tools, engines, serve's model choice) open this
lighter set, which imports only what it is asked for:

    with CommandServices.opened() as services:
        cid = services.conversations.resolve_id(args.id)

A database that cannot be opened raises ``StoreError`` (``services.types``), in words.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from chatdesk.services.conversations import ConversationsService
from chatdesk.services.export import ExportService
from chatdesk.store import Store

if TYPE_CHECKING:
    from chatdesk.services.remote_engines import RemoteEngineService
    from chatdesk.services.settings import SettingsService
    from chatdesk.services.tools import ToolsService


class CommandServices:
    """Conversations, export, settings, tools and remote engines over one open store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @classmethod
    @contextmanager
    def opened(cls, path: Path | None = None) -> Iterator[CommandServices]:
        """The services over the database at ``path`` (the user's by default), closed after."""
        store = Store(path)
        try:
            yield cls(store)
        finally:
            store.close()

    @cached_property
    def conversations(self) -> ConversationsService:
        """Listing, searching, showing and deleting conversations; the id-prefix rule."""
        return ConversationsService(self._store)

    @cached_property
    def export(self) -> ExportService:
        """Export and import."""
        return ExportService(self._store)

    @cached_property
    def settings(self) -> SettingsService:
        """App and sampling settings, recent models."""
        from chatdesk.services.settings import SettingsService

        return SettingsService(self._store)

    @cached_property
    def tools(self) -> ToolsService:
        """The tools and their policies."""
        from chatdesk.services.tools import ToolsService

        return ToolsService(self._store)

    @cached_property
    def remote_engines(self) -> RemoteEngineService:
        """The remote engines (their registry in the database, keys in the keyring)."""
        from chatdesk.services.remote_engines import RemoteEngineService

        return RemoteEngineService(self._store)
