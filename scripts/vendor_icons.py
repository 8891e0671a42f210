"""Copy the Phosphor icons ChatDesk uses (``chatdesk.ui.icons.ACTIONS``) from npm.

    python scripts/vendor_icons.py [VERSION]

Downloads ``@phosphor-icons/core`` from the npm registry, checks its licence is MIT, and
copies the regular-weight SVG of every icon named in ``ACTIONS`` (and the LICENSE) into
``resources/icons/phosphor``. Run it after adding an action there.
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REGISTRY = "https://registry.npmjs.org/@phosphor-icons/core"


def main(version: str = "2.1.1") -> int:
    sys.path.insert(0, str(REPO))
    from chatdesk.ui.icons import ACTIONS, FOLDER

    with urllib.request.urlopen(f"{REGISTRY}/{version}", timeout=60) as response:
        meta = json.load(response)
    if meta.get("license") != "MIT":
        raise SystemExit(f"@phosphor-icons/core {version} is not MIT: {meta.get('license')}")
    with urllib.request.urlopen(meta["dist"]["tarball"], timeout=120) as response:
        packed = io.BytesIO(response.read())
    FOLDER.mkdir(parents=True, exist_ok=True)
    wanted = {f"package/assets/regular/{name}.svg": f"{name}.svg" for name in ACTIONS.values()}
    wanted["package/LICENSE"] = "LICENSE"
    with tarfile.open(fileobj=packed) as archive:
        for member, target in wanted.items():
            data = archive.extractfile(member)
            if data is None:
                raise SystemExit(f"{member} is missing from @phosphor-icons/core {version}")
            (FOLDER / target).write_bytes(data.read())
    print(f"copied {len(wanted)} files into {FOLDER}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
