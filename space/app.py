"""ganimate Space: seeded, looping latent animations from ONNX generators, in the browser and through an API.

The app itself is `serving.space` (`build_demo`); this file only finds the package and launches it. In a checkout
`serving/` sits beside `space/`; on the Hub, `python -m serving push-space` uploads it beside this file.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent if (HERE.parent / "serving").is_dir() else HERE
sys.path.insert(0, str(ROOT))

from serving.space import main  # noqa: E402

if __name__ == "__main__":
    main(HERE, ROOT / "exported")
