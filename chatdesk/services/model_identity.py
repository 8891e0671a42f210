"""Which model wrote a reply: engine kind, path or id, display name, and for files size + SHA-256.

A model file can be several gigabytes, so its SHA-256 is never computed on the caller's
thread or per turn: ``HashCache`` keeps digests in a small JSON file under the data root,
keyed by path and valid while the file's size and modification time are unchanged, and
``hash_later`` fills it on a daemon thread. ``identity_for`` answers at once with what is known
(the digest is left out until it has been computed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

from chatdesk import paths
from chatdesk.services.remote_engines import parse_remote_model_key

log = logging.getLogger("chatdesk.models")
CHUNK = 4 * 1024 * 1024


class HashCache:
    """SHA-256 digests of model files, remembered by path, size and mtime."""

    def __init__(self, file: Path | None = None) -> None:
        self.file = file or paths.data_root() / "model-hashes.json"
        self._lock = threading.Lock()
        self._busy: set[str] = set()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, path: Path) -> str | None:
        """The cached digest of ``path``, if the file has not changed since."""
        try:
            stat = path.stat()
        except OSError:
            return None
        entry = self._read().get(str(path))
        if isinstance(entry, dict) and entry.get("key") == [stat.st_size, stat.st_mtime_ns]:
            digest = entry.get("sha256")
            return digest if isinstance(digest, str) else None
        return None

    def compute(self, path: Path) -> str:
        """Hash the file now (blocking) and remember the digest."""
        stat = path.stat()
        digest = hashlib.sha256()
        with path.open("rb") as source:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
        value = digest.hexdigest()
        with self._lock:
            data = self._read()
            data[str(path)] = {"key": [stat.st_size, stat.st_mtime_ns], "sha256": value}
            self.file.parent.mkdir(parents=True, exist_ok=True)
            self.file.write_text(json.dumps(data, indent=1), encoding="utf-8")
        return value

    def hash_later(self, path: Path) -> None:
        """Compute the digest on a daemon thread unless it is known or being computed."""
        key = str(path)
        with self._lock:
            if key in self._busy:
                return
            self._busy.add(key)

        def run() -> None:
            try:
                if self.get(path) is None:
                    self.compute(path)
                    log.info("hashed model %s", path)
            except OSError as error:
                log.warning("cannot hash model %s: %s", path, error)
            finally:
                with self._lock:
                    self._busy.discard(key)

        threading.Thread(target=run, name="chatdesk-model-hash", daemon=True).start()


def identity_for(
    path: str, name: str | None = None, kind: str = "local", cache: HashCache | None = None
) -> dict[str, Any]:
    """The identity stored on replies and conversations (never blocks on hashing)."""
    identity: dict[str, Any] = {"kind": kind, "path": path, "name": name or Path(path).stem}
    if kind != "local":
        remote = parse_remote_model_key(path)
        if remote is not None:  # which server and which of its models
            identity.update(engine=remote[0], model_id=remote[1], name=name or remote[1])
        return identity
    file = Path(path)
    try:
        identity["size"] = file.stat().st_size
    except OSError:
        return identity
    if cache is not None:
        digest = cache.get(file)
        if digest is None:
            cache.hash_later(file)
        else:
            identity["sha256"] = digest
    return identity
