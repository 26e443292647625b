"""ONNX's protobuf messages (ModelProto, TensorProto) without `import onnx`.

The bundle checks only parse a model and read its fields. `import onnx` also imports its helpers and, through them,
ml_dtypes, whose extension takes most of a second to initialise while holding the GIL: at the Space's start that
second was spent beside Gradio's import and slowed it down (`python -X importtime -c "import onnx"`;
`python -m bench.cold_start`). The generated module `onnx/onnx_ml_pb2.py` needs only protobuf, so it is loaded from
onnx's own package folder under its own name: a later `import onnx` in the same process finds it in `sys.modules`
and uses the same message classes, so nothing is registered twice. (Python then leaves the package without an
`onnx_ml_pb2` attribute: `from onnx import onnx_ml_pb2`, which onnx itself uses, still works.)
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from types import ModuleType

PB2 = "onnx.onnx_ml_pb2"
_lock = threading.Lock()  # the Space checks its bundles on several threads at once


def onnx_pb2() -> ModuleType:
    """The module that defines ModelProto and TensorProto (onnx's own, from the installed onnx package): parse a
    model with `onnx_pb2().ModelProto().ParseFromString(data)`."""
    with _lock:
        if PB2 in sys.modules:  # loaded here before, or by `import onnx` (training and export import it)
            return sys.modules[PB2]
        package = importlib.util.find_spec("onnx")  # finds the folder; a top-level find_spec imports nothing
        if package is None or not package.submodule_search_locations:
            raise ImportError("the onnx package is not installed (pip install -r space/requirements.txt)", name="onnx")
        location = f"{list(package.submodule_search_locations)[0]}/onnx_ml_pb2.py"
        spec = importlib.util.spec_from_file_location(PB2, location)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # whole before anyone sees it; running it twice gives the same classes
        return sys.modules.setdefault(PB2, module)
