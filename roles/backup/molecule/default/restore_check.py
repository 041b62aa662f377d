"""Compare a restored tree with the MANIFEST.json it holds: every file listed must be there
with the same sha256 and size. Prints one JSON line; exit 1 on any mismatch."""

import hashlib
import json
import sys
from pathlib import Path


def main() -> int:
    root = Path(sys.argv[1])
    manifest = json.loads((root / "var/backups/telework/dumps/MANIFEST.json").read_text())
    mismatches = []
    for entry in manifest["files"]:
        restored = root / entry["path"].lstrip("/")
        if not restored.is_file():
            mismatches.append({"path": entry["path"], "why": "missing"})
            continue
        data = restored.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"] or len(data) != entry["size"]:
            mismatches.append({"path": entry["path"], "why": "checksum"})
    result = {"files_verified": len(manifest["files"]), "mismatches": mismatches}
    print(json.dumps(result))
    return 1 if mismatches or not manifest["files"] else 0


if __name__ == "__main__":
    sys.exit(main())
