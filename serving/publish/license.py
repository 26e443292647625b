"""The project's license (Apache-2.0), which travels with every exported bundle and every pushed bundle and Space.

The text is package data (`serving/publish/LICENSE`, the same bytes as the repository's LICENSE, tested), so an
installed `serving` publishes it without a checkout.
"""

from __future__ import annotations

import importlib.resources


def license_text() -> bytes:
    """The bytes of the LICENSE file that ships beside a bundle's model.onnx and a Space's app.py."""
    return importlib.resources.files("serving.publish").joinpath("LICENSE").read_bytes()
