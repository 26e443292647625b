"""`Generator`: a verified ONNX bundle behind a numpy call (no TensorFlow).

    gen = Generator.from_pretrained("exported/mnist-cdcgan")        # or "user/repo", revision="<sha>"
    images = gen(z, y)                                              # uint8 [n, h, w, c]

Before a session is created the bundle is checked: config.json is usable, model.onnx matches its sha256, holds no
external-data tensors and no operators outside the standard ONNX domains, and its inputs and outputs match the
contract and the config. Every failure is a `BundleError` with one clear message.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from serving.bundle import lanes
from serving.bundle.bundle_checks import check_encoder, check_model, check_output, probe, probe_encoder, run_bounded
from serving.bundle.config import GeneratorConfig
from serving.bundle.ort_session import error_line, make_session, onnxruntime_errors
from serving.errors import BundleError, InputError
from serving.inputs import is_repo_id, is_revision, read_text_file

MAX_SOURCE_CHARS = 1024  # a folder path or user/name@revision; longer is neither
BUNDLE_FILES = ("config.json", "model.onnx")
OPTIONAL_FILES = ("README.md", "samples.png", "encoder.onnx")  # encoder.onnx: checked if declared
T = TypeVar("T")
_inside = threading.local()  # .run is True in a thread running a run of Generator.in_parallel
ENCODE_SECONDS = 20.0  # one encoder call, at most (a picture at a time: far less is normal)
PARAMS_ROWS = 4096  # rows per call of the params head: a small network, fast in big batches
MIN_SLICE_ROWS = 4  # a call is cut into per-session slices only when each gets at least this many rows


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_bundle(
    path_or_repo_id: str | os.PathLike, revision: str | None = None, force_download: bool = False
) -> tuple[Path, bool]:
    """(folder, from_hub): a local bundle folder, or a Hub repo id downloaded into huggingface_hub's cache
    (`force_download` fetches it again even when cached: the fix for a damaged cached file)."""
    text = str(path_or_repo_id)
    if len(text) > MAX_SOURCE_CHARS:
        raise BundleError(
            f"bundle {text[:60]}... is not a folder or a Hub repo id (at most {MAX_SOURCE_CHARS} characters)"
        )
    local = Path(path_or_repo_id)
    try:
        if local.is_dir():
            return local, False
        exists = local.exists()
    except OSError as exc:  # a name the file system cannot even look up (too long, bad bytes)
        raise BundleError(f"bundle {text[:80]!r} cannot be read: {exc.strerror or exc}") from None
    if "@" in text and revision is None:
        text, revision = text.split("@", 1)
    if not is_repo_id(text) or exists:
        raise BundleError(f"bundle {path_or_repo_id} not found: not a folder, and not a Hub repo id like user/name")
    if revision is not None and not is_revision(revision):  # a revision is a name on the Hub, never a path here
        raise BundleError(f"revision {str(revision)[:80]!r} of {text} is not a branch, a tag or a 40-hex commit")
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError

    from serving.errors import network_errors

    # What a download can fail with: HTTP answers, the network, the local cache (OSError); anything else is a bug.
    download_errors = (HfHubHTTPError, OSError, *network_errors())

    def fetch(name: str) -> Path:
        path = Path(hf_hub_download(text, name, revision=revision, force_download=force_download))
        if force_download and not _in_hub_cache(path):
            # A cache pointer re-pointed elsewhere (at /dev/zero, at another file) survives a forced download,
            # which rewrites the blob it should point at: drop the pointer and fetch it once more.
            path.unlink(missing_ok=True)
            path = Path(hf_hub_download(text, name, revision=revision, force_download=True))
        return path

    try:
        paths = [fetch(name) for name in BUNDLE_FILES]
    except download_errors as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise BundleError(
            f"could not download {text}@{revision or 'main'} from the Hub: {type(exc).__name__}: {first}"
        ) from None
    for name in OPTIONAL_FILES:  # the card and pictures, for the Space's About tab; a bundle works without them
        try:
            hf_hub_download(text, name, revision=revision, force_download=force_download)
        except download_errors:
            pass
    return paths[0].parent, True


def _in_hub_cache(path: Path) -> bool:
    """True for a downloaded file that is a regular file inside huggingface_hub's cache (what a pointer should be)."""
    from huggingface_hub import constants

    real = path.resolve()
    return real.is_file() and Path(constants.HF_HUB_CACHE).resolve() in real.parents


@dataclass(frozen=True)
class CheckedBundle:
    """A bundle whose files passed every check that needs no session (Generator.checked)."""

    bundle: Path
    config: GeneratorConfig
    model_bytes: bytes
    encoder_bytes: bytes | None
    source: str

    def load(self, threads: int | None = None) -> Generator:
        """Sessions built from the bytes that were hashed and checked (never by reopening the path), each proved
        on a real run before anything is served. One session for every thread: as fast as a session per thread,
        with one model in memory and a faster start."""
        threads = check_threads(threads)
        session = make_session(self.bundle / "model.onnx", self.model_bytes)
        probe(session, self.config, self.bundle / "model.onnx")
        encoder = make_session(self.bundle / "encoder.onnx", self.encoder_bytes) if self.encoder_bytes else None
        if encoder is not None:
            probe_encoder(encoder, self.config, self.bundle / "encoder.onnx")
        return Generator(self.bundle, self.config, session, self.source, threads, encoder, self.model_bytes)


class Generator:
    """A loaded, verified bundle. Call it with z [n, latent_dim] (and y [n, num_classes]) to get images."""

    def __init__(
        self,
        bundle_dir: Path,
        config: GeneratorConfig,
        session,
        source: str,
        threads: int = 1,
        encoder=None,
        model_bytes: bytes | None = None,
    ) -> None:
        self.bundle_dir = bundle_dir
        # The verified bytes of model.onnx, for the params head (built on first use: most callers never need it).
        self._model_bytes = model_bytes
        self._params_session = None
        self._params_lock = threading.Lock()
        self.encoder_session = encoder  # onnxruntime session of encoder.onnx, or None (see serving.picture.project)
        self.config = config
        # One onnxruntime session, run single-threaded from `threads` threads at once (its Run is thread-safe and
        # releases the GIL): a big call is cut into one slice of rows per thread. This beats onnxruntime's own
        # intra-op pool on small CPUs (bench.generator_speed): that pool synchronises after every small
        # convolution, the slices never do.
        self.session = session
        self.threads = threads
        self.source = source
        self._pool = ThreadPoolExecutor(threads - 1, thread_name_prefix="generator") if threads > 1 else None

    @classmethod
    def from_pretrained(
        cls,
        path_or_repo_id: str | os.PathLike,
        revision: str | None = None,
        threads: int | None = None,
        force_download: bool = False,
    ) -> Generator:
        """Load and verify a bundle folder or Hub repo; `threads` is how many slices of a big call run at once, each
        running the session single-threaded (default <= 4, at most the cores here); `force_download` fetches a
        Hub bundle again even when it is cached."""
        threads = check_threads(threads)
        return cls.checked(path_or_repo_id, revision, force_download).load(threads)

    @classmethod
    def checked(
        cls, path_or_repo_id: str | os.PathLike, revision: str | None = None, force_download: bool = False
    ) -> CheckedBundle:
        """The bundle's files read and verified (sha256, contract, static graph checks) without building a
        session: what `load` turns into a Generator. Cheap; a refused bundle is refused here."""
        bundle, from_hub = resolve_bundle(path_or_repo_id, revision, force_download)
        try:
            config, model_bytes = _verified(bundle)
            encoder_bytes = _verified_encoder(bundle, config)
        except BundleError as exc:
            if not from_hub:
                raise
            # A Hub bundle comes from the local cache: a damaged or tampered cached file stays until fetched again.
            raise BundleError(
                f"{exc}; this is a cached download: fetch it again with --force-download "
                f"(force_download=True) or delete {bundle.resolve()}"
            ) from None
        return CheckedBundle(bundle, config, model_bytes, encoder_bytes, str(path_or_repo_id))

    @property
    def has_encoder(self) -> bool:
        return self.encoder_session is not None

    def encode(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(z [n, latent_dim], class logits [n, num_classes] or None) for pictures [n, h, w, c], float32 in [0, 1]
        in the generator's own layout; InputError when the bundle has no encoder."""
        if self.encoder_session is None:
            raise InputError(f"{self.config.name} has no encoder (python -m training.encoder --bundle DIR adds one)")
        h, w = self.config.image_size
        images = np.ascontiguousarray(images, dtype=np.float32)
        if images.ndim != 4 or images.shape[1:] != (h, w, self.config.channels):
            raise InputError(f"pictures must be [n, {h}, {w}, {self.config.channels}], got {list(images.shape)}")
        names = ["z", "logits"] if self.conditional_encoder else ["z"]
        what = self.bundle_dir / "encoder.onnx"
        out = run_bounded(self.encoder_session, names, {"image": images}, ENCODE_SECONDS, what)
        sizes = {"z": self.latent_dim, "logits": self.num_classes}
        for name, value in zip(names, out):  # checked on every call, as the generator's outputs are
            check_output(name, value, (len(images), sizes[name]), what)
        return out[0], (out[1] if len(out) > 1 else None)

    @property
    def conditional_encoder(self) -> bool:
        return self.config.encoder is not None and "logits" in self.config.encoder["outputs"]

    def params(self, z: np.ndarray, y: np.ndarray | None = None, batch_size: int = 256) -> np.ndarray:
        """The parameter vectors [n, P] a renderer model draws for z (and y), in the ranges of
        `config.extra["params"]`; redraw them at any size with `serving.art.mathart.render`."""
        if "params" not in self.config.outputs:
            raise InputError(f"{self.config.name} draws pixels directly; it has no params output")
        z, y = self._check_inputs(z, y)
        out = np.empty((len(z), len(self.config.param_names)), dtype=np.float32)
        session = self._params_head()
        if session is None:  # built by hand from a session, without the model's bytes: the whole model, in batches
            self._run("params", z, y, batch_size, out)
            return out
        wanted = {i.name for i in session.get_inputs()}  # a head that does not read y takes no y
        for start in range(0, len(z), PARAMS_ROWS):
            rows = {
                "z": z[start : start + PARAMS_ROWS],
                **({"y": y[start : start + PARAMS_ROWS]} if y is not None else {}),
            }
            feed = {k: v for k, v in rows.items() if k in wanted}
            try:
                result = session.run(["params"], feed)[0]
            except onnxruntime_errors() as exc:
                raise BundleError(
                    f"{self.bundle_dir}: onnxruntime could not run the model: {error_line(exc)}"
                ) from None
            check_output("params", result, (len(rows["z"]), out.shape[1]), self.bundle_dir / "model.onnx")
            out[start : start + PARAMS_ROWS] = result
        return out

    def _params_head(self):
        """A session of the nodes that compute `params` alone (serving.bundle.params_graph), built on first use
        from the verified bytes: the same numbers as the whole model's `params`, without drawing them."""
        with self._params_lock:
            if self._params_session is None:
                if self._model_bytes is None:
                    return None
                from serving.bundle.params_graph import output_subgraph

                self._params_session = make_session(
                    self.bundle_dir / "model.onnx", output_subgraph(self._model_bytes, "params")
                )
            return self._params_session

    @property
    def batch_hint(self) -> int:
        """Rows per onnxruntime call for big jobs: a model that draws at 256x256 inside its graph runs fastest in
        batches that keep its planes in cache (16 rows); a pixel generator, in 512s."""
        return 16 if "params" in self.config.outputs else 512

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    def _check_inputs(self, z: np.ndarray, y: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """z and y as contiguous float32 of the contract's shapes, or ValueError."""
        z = np.ascontiguousarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise InputError(f"z must have shape [n, {self.latent_dim}], got {list(z.shape)}")
        if not np.all(np.isfinite(z)):
            raise InputError("z holds NaN or Inf")
        if self.num_classes:
            if y is None:
                raise InputError(f"this model is conditional: pass y with shape [n, {self.num_classes}]")
            y = np.ascontiguousarray(y, dtype=np.float32)
            if y.shape != (len(z), self.num_classes):
                raise InputError(f"y must have shape [{len(z)}, {self.num_classes}], got {list(y.shape)}")
            if not np.all(np.isfinite(y)):
                raise InputError("y holds NaN or Inf")
        elif y is not None:
            raise InputError("this model is not conditional; it takes no y")
        return z, y

    def in_parallel(self, work: Callable[[T], None], items: Sequence[T]) -> None:
        """Call work(item) for every item: the items are dealt out in contiguous runs, one run per thread, and the
        runs go at once. The calling thread takes the first run. Calls to this generator made inside a run are
        not split again. Returns once every run has ended; the first error (the calling thread's first) is
        raised then."""
        if not items:
            return
        if _in_run():  # called from a run itself: never wait on this pool from its own thread
            for item in items:
                work(item)
            return
        runs = [list(r) for r in np.array_split(np.arange(len(items)), min(len(items), self.threads))]
        jobs = [self._pool.submit(_do_run, work, items, run) for run in runs[1:]] if self._pool else []
        error: BaseException | None = None
        try:
            _do_run(work, items, runs[0])
        except BaseException as exc:  # noqa: BLE001 (raised below, once the other runs have ended)
            error = exc
        wait(jobs)  # no run may still write into the caller's arrays after this returns
        for job in jobs:
            if error is None and job.exception() is not None:
                error = job.exception()
        if error is not None:
            raise error

    def _run(self, name: str, z: np.ndarray, y: np.ndarray | None, batch_size: int, out: np.ndarray) -> None:
        """Fill `out` with output `name` for checked z (and y), `batch_size` rows per onnxruntime call, the rows
        cut into one contiguous slice per session, all slices at once."""
        # A renderer model draws each row with its dominant family's subgraph, once per family present in a call:
        # rows grouped by family make each call run one subgraph instead of several.
        # Rows are independent, so the result is the same in any order and any cut.
        order = (
            np.argsort(np.argmax(y, axis=1), kind="stable")
            if y is not None and "params" in self.config.outputs
            else np.arange(len(z))
        )
        parts = self.threads if len(z) >= MIN_SLICE_ROWS * self.threads and not _in_run() else 1
        slices = [s for s in np.array_split(order, parts) if len(s)]
        self.in_parallel(lambda rows: self._run_slice(name, z, y, rows, batch_size, out), slices)

    def _run_slice(
        self, name: str, z: np.ndarray, y: np.ndarray | None, order: np.ndarray, batch_size: int, out: np.ndarray
    ) -> None:
        """`out[order]`, `batch_size` rows per onnxruntime call, in this thread."""
        session = self.session
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            feed = {"z": z[rows], **({"y": y[rows]} if y is not None else {})}
            try:
                result = session.run([name], feed)[0]
            except onnxruntime_errors() as exc:
                raise BundleError(
                    f"{self.bundle_dir}: onnxruntime could not run the model: {error_line(exc)}"
                ) from None
            # The load probe tried a few batch sizes, not this one: a graph can still return another shape here,
            # which numpy would broadcast into `out` without a word (one row for many) or refuse with a traceback.
            check_output(name, result, (len(rows), *out.shape[1:]), self.bundle_dir / "model.onnx")
            out[rows] = result

    def __call__(
        self, z: np.ndarray, y: np.ndarray | None = None, batch_size: int = 256, output: str = "uint8"
    ) -> np.ndarray:
        """Images for each row of z (and y): uint8 [n, h, w, c] by default, or float32 in [0, 1] with output='float'."""
        z, y = self._check_inputs(z, y)
        h, w = self.config.image_size
        out = np.empty((len(z), h, w, self.config.channels), dtype=np.float32)
        self._run("images", z, y, batch_size, out)
        if output == "float":
            return out
        from serving.files.grid import to_uint8

        return to_uint8(out)


def _in_run() -> bool:
    """Inside a run of in_parallel, or on a thread that must keep its work (serving.bundle.lanes): never split again."""
    return getattr(_inside, "run", False) or lanes.alone()


def _do_run(work: Callable, items: Sequence, run: list[int]) -> None:
    """One run of Generator.in_parallel, in this thread."""
    _inside.run = True
    try:
        for i in run:
            work(items[i])
    finally:
        _inside.run = False


def _verified(bundle: Path) -> tuple[GeneratorConfig, bytes]:
    """config.json and model.onnx's bytes, after every check: sha256, operators, external data, contract."""
    config_path, model_path = bundle / "config.json", bundle / "model.onnx"
    for path in (config_path, model_path):
        if not path.is_file():
            raise BundleError(f"bundle {bundle} has no {path.name}")
    try:
        text = read_text_file(config_path, "bundle file")
    except InputError as exc:  # the bundle is at fault, not the person who named it
        raise BundleError(str(exc)) from None
    try:
        config = GeneratorConfig.from_json(text)
    except BundleError as exc:
        raise BundleError(f"{config_path}: {exc}") from None
    if not re.fullmatch(r"[0-9a-f]{64}", config.sha256):
        raise BundleError(f"{config_path}: key 'sha256' must be the 64-hex sha256 of model.onnx")
    data = _hashed(model_path, config.sha256)
    check_model(model_path, config, data)
    return config, data


def _verified_encoder(bundle: Path, config: GeneratorConfig) -> bytes | None:
    """encoder.onnx's bytes after the same checks as the model (sha256 in config.json, static checks, contract),
    or None for a bundle that declares no encoder."""
    if config.encoder is None:
        return None
    path = bundle / config.encoder["file"]
    if not path.is_file():  # follows a link: a dangling one, or one to a device, is no file
        raise BundleError(f"bundle {bundle} declares an encoder but has no {path.name}")
    data = _hashed(path, config.encoder["sha256"])
    check_encoder(path, config, data)
    return data


def _hashed(path: Path, expected: str) -> bytes:
    """The file's bytes, once their sha256 is the one config.json states; BundleError naming the file otherwise."""
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise BundleError(
            f"{path} sha256 {actual[:12]}... does not match config.json ({expected[:12]}...); refusing it"
        )
    return data


def check_threads(threads: int | None) -> int:
    """Threads a big call is cut over, each running the session single-threaded: default up to 4, never more
    than the cores here (more only contends)."""
    cores = os.cpu_count() or 1
    if threads is None:
        return min(4, cores)
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= cores:
        raise InputError(f"threads must be a whole number in 1..{cores} (the cores here), got {threads!r}")
    return threads
