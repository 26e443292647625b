import importlib.util
import sys

# What the serving CLI needs, looked up without importing it (importing onnx alone takes most of a second); outside
# its environment, one line says how to get it.
missing = next(
    (name for name in ("numpy", "onnx", "onnxruntime", "PIL") if importlib.util.find_spec(name) is None), None
)
if missing:
    print(
        f"error: python -m serving needs {missing}: run it with .venv-space/bin/python or .venv/bin/python "
        "(make demo or make install builds them), or pip install -r space/requirements.txt",
        file=sys.stderr,
    )
    sys.exit(2)

from serving.cli import main  # noqa: E402

sys.exit(main())
