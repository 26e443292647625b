"""The static page in headless Chromium: z(seed) in JavaScript, and frames that match the Python render."""

import importlib.util
import threading

import numpy as np
import pytest

from serving import Generator, Recipe
from serving.latents import z_from_seed
from serving.render import render_frames
from tests.conftest import CHROMIUM, CHROMIUM_FLAGS, REPO

VENDOR = REPO / "web" / "vendor" / "ort.wasm.min.mjs"
pytestmark = [
    pytest.mark.slow,  # a real browser on the page: kept out of make test-fast
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make test installs it)"),
    pytest.mark.skipif(not VENDOR.exists(), reason="web/vendor is not built (make test runs npm ci && npm run build)"),
]
BUNDLE = REPO / "exported" / "mnist-cdcgan"


@pytest.fixture(scope="module")
def page(artifacts):
    from playwright.sync_api import sync_playwright

    spec = importlib.util.spec_from_file_location("web_serve", REPO / "web" / "serve.py")
    serve = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(serve)
    server = serve.make_server(0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/web/index.html?bundle=/exported/mnist-cdcgan/&seeds=1,2&classes=3,8&path=slerp&frames=4"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            pg = browser.new_page(viewport={"width": 1000, "height": 700})
            errors = []
            pg.on("pageerror", lambda e: errors.append(str(e)))
            pg.goto(url, timeout=60_000)
            pg.wait_for_function("window.ganimatePage && window.ganimatePage.done", timeout=120_000)
            pg.wait_for_timeout(300)
            pg.screenshot(path=str(artifacts / "web-page.png"))
            assert not errors, errors
            yield pg
        finally:
            browser.close()
            server.shutdown()


def test_z_from_seed_in_javascript_matches_the_design_vectors(page):
    js = page.evaluate("[0, 1, 7, 4294967295].map(s => Array.from(window.ganimate.zFromSeed(s, 64)))")
    assert np.allclose(js[0][:4], [-0.45275775, 0.20776604, 2.650606, -0.49042282], atol=1e-6)
    assert np.allclose(js[1][:4], [-0.02824975, -1.0656177, -0.22791952, 0.08309417], atol=1e-6)
    for seed, values in zip([0, 1, 7, 4294967295], js):
        assert np.array_equal(np.asarray(values, np.float32), z_from_seed(seed, 64))  # bit for bit
    assert page.evaluate("window.ganimate.splitmix64(0, 1)[0].toString()") == "16294208416658607535"


def _python_frames(recipe: Recipe) -> np.ndarray:
    return render_frames(Generator.from_pretrained(BUNDLE), recipe)[..., 0].astype(int)


def test_the_page_draws_what_python_renders(page):
    js = np.asarray(page.evaluate("window.ganimatePage.frames.map(f => Array.from(f))"), dtype=int)
    py = _python_frames(Recipe(seeds=(1, 2), classes=(3, 8), path="slerp", frames=4, size=28))
    assert js.shape == (len(py), 28 * 28 * 4) and len(py) == 8
    assert np.abs(js.reshape(len(py), 28, 28, 4)[..., 0] - py).max() <= 1  # within 1/255 per pixel
    drawn = np.asarray(page.evaluate(
        "(() => { const c = document.getElementById('canvas'); return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); })()"
    ), dtype=int).reshape(28, 28, 4)[..., 0]
    assert min(np.abs(drawn - frame).max() for frame in py) <= 1  # the canvas shows one of those frames


@pytest.mark.parametrize("path, easing", [("cubic", "ease-in-out"), ("lerp", "linear")])
def test_other_paths_and_default_classes_match(page, path, easing):
    recipe = dict(seeds=[5, 6, 9], classes=None, path=path, easing=easing, loop=True, frames=3, truncation=0.7)
    js = np.asarray(page.evaluate(
        "async (r) => { const b = await window.ganimate.loadBundle('/exported/mnist-cdcgan/');"
        " return (await window.ganimate.renderFrames(b, r)).map(f => Array.from(f)); }", recipe), dtype=int)
    py = _python_frames(Recipe(seeds=(5, 6, 9), path=path, easing=easing, frames=3, truncation=0.7, size=28))
    assert np.abs(js.reshape(len(py), 28, 28, 4)[..., 0] - py).max() <= 1


def test_bad_seeds_show_one_message(page):
    page.fill("#seeds", "1,x")
    page.click("#generate")
    page.wait_for_function("document.getElementById('error').textContent.length > 0", timeout=10_000)
    assert "cannot read" in page.text_content("#error")
