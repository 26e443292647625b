import sys

try:  # what the serving CLI needs; outside its environment, one line says how to get it
    import numpy  # noqa: F401
    import onnx  # noqa: F401
    import onnxruntime  # noqa: F401
    import PIL  # noqa: F401
except ImportError as exc:
    print(
        f"error: python -m serving needs {exc.name}: run it with .venv-space/bin/python or .venv/bin/python "
        "(make demo or make install builds them), or pip install -r space/requirements.txt",
        file=sys.stderr,
    )
    sys.exit(2)

from serving.cli import main  # noqa: E402

sys.exit(main())
