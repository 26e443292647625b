"""The ganimate Space from a checkout: `python space/app.py` (or `make demo`) serves the bundles in exported/.

The app is `serving.space`; a push uploads `serving/` with the launcher in `serving/publish/space_files.py` instead.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from serving.space import main  # noqa: E402

main(ROOT / "space", ROOT / "exported")
