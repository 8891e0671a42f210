"""Markdown and JSON export of conversations, and JSON import."""

from chatdesk.export.errors import ExportError, ImportFormatError
from chatdesk.export.filenames import unique_file_name
from chatdesk.export.files import FORMATS, export_all, export_conversation, render, write_text
from chatdesk.export.importer import ImportResult, import_file, import_text
from chatdesk.export.json_format import FORMAT, VERSION, export_json
from chatdesk.export.markdown import export_markdown, render_markdown
from chatdesk.export.wording import counted

__all__ = [
    "FORMAT",
    "FORMATS",
    "VERSION",
    "ExportError",
    "ImportFormatError",
    "ImportResult",
    "counted",
    "export_all",
    "export_conversation",
    "export_json",
    "export_markdown",
    "import_file",
    "import_text",
    "render",
    "render_markdown",
    "unique_file_name",
    "write_text",
]
