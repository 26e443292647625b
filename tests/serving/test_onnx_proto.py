"""The bundle checks read ONNX files without `import onnx` (whose ml_dtypes import slows the Space's start), and a
later `import onnx` in the same process shares their message classes."""

import subprocess
import sys

from tests.conftest import REPO

LOAD_THEN_IMPORT = """
import sys
from serving import Generator
gen = Generator.from_pretrained("exported/mnist-cdcgan")   # every static check and the probes
print(sorted(m for m in ("onnx", "onnx.helper", "ml_dtypes") if m in sys.modules))
import onnx
from serving.bundle.onnx_proto import onnx_pb2
model = onnx.load("exported/mnist-cdcgan/model.onnx")
print(onnx.ModelProto is onnx_pb2().ModelProto, isinstance(model, onnx_pb2().ModelProto))
onnx.checker.check_model(model)
print("checked")
"""


def test_loading_a_bundle_leaves_onnx_unimported_and_importable():
    done = subprocess.run(
        [sys.executable, "-c", LOAD_THEN_IMPORT], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:3] == ["[]", "True True", "checked"]


IMPORT_THEN_LOAD = """
import onnx
from serving import Generator
from serving.bundle.onnx_proto import onnx_pb2
Generator.from_pretrained("exported/mnist-cvae")
print(onnx_pb2().ModelProto is onnx.ModelProto)
"""


def test_with_onnx_imported_first_the_checks_use_its_module():
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_THEN_LOAD], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr[-2000:]


def test_check_model_refuses_what_is_not_a_model(tmp_path):
    import pytest

    from serving.bundle.bundle_checks import check_model
    from serving.bundle.config import GeneratorConfig
    from serving.errors import BundleError

    config = GeneratorConfig.from_dict(
        __import__("json").loads((REPO / "exported/mnist-cdcgan/config.json").read_text())
    )
    with pytest.raises(BundleError, match="not a readable ONNX model"):
        check_model(tmp_path / "model.onnx", config, b"\xff\xfe not protobuf \x00" * 10)
    with pytest.raises(BundleError, match="cannot be read"):
        check_model(tmp_path / "missing.onnx", config)
