"""A real browser: headless Chromium opens the Space (an animation already playing), clicks Render and Compare, looks at every tab."""

import io
import json
import re
import urllib.parse
import urllib.request
from contextlib import contextmanager

import pytest
from PIL import Image

from tests.conftest import CHROMIUM, CHROMIUM_FLAGS


@contextmanager
def _browser():
    """Headless Chromium, closed on the way out."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def _space(browser, server: str):
    """A 1280 px page on the Space, once its opening animation shows."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(server, timeout=60_000)
    page.locator("#gm-preview img").wait_for(state="visible", timeout=60_000)
    return page


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (make test installs it: apt-get install chromium)"
)
def test_click_render_shows_an_animation(server, artifacts):
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(server, timeout=60_000)
        opening = page.locator("#gm-preview img")
        opening.wait_for(state="visible", timeout=60_000)  # before any click: the page opens playing
        opened_with = opening.get_attribute("src")
        page.screenshot(path=str(artifacts / "space-opened.png"), full_page=True)
        page.get_by_role("button", name="Render", exact=True).click(timeout=30_000)
        image = page.locator("#gm-preview img")
        image.wait_for(state="visible", timeout=60_000)
        src = image.get_attribute("src")
        page.wait_for_timeout(500)  # let the first frames paint before the screenshot
        page.screenshot(path=str(artifacts / "space-animate.png"), full_page=True)
        page.get_by_role("tab", name="Explore").click()
        explore = page.locator("#gm-explore img")
        explore.wait_for(state="visible", timeout=30_000)  # drawn on load, before any slider moves
        explore_src = explore.get_attribute("src")
        labels = page.locator("label").all_inner_texts()
        page.screenshot(path=str(artifacts / "space-explore.png"), full_page=True)
        page.get_by_role("tab", name="Compare").click()
        page.get_by_role("button", name="Compare", exact=True).click(timeout=30_000)
        compared = page.locator("#gm-compared img")
        compared.wait_for(state="visible", timeout=60_000)
        compared_src = compared.get_attribute("src")
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / "space-compare.png"), full_page=True)
        page.get_by_role("tab", name="About").click()
        page.wait_for_timeout(1500)
        about = page.get_by_role("heading", name="Metrics").count()
        page.screenshot(path=str(artifacts / "space-about.png"), full_page=True)
    assert opened_with and opened_with.split("?")[0].endswith(".gif")
    assert explore_src and any("Stroke thickness" in t for t in labels) and about == 1
    assert src and src.split("?")[0].endswith(".gif")
    assert compared_src and compared_src.split("?")[0].endswith(".gif") and "compare-" in compared_src
    url = src if src.startswith("http") else server.rstrip("/") + "/" + src.lstrip("/")
    with urllib.request.urlopen(url, timeout=30) as resp:
        gif = Image.open(io.BytesIO(resp.read()))
    assert gif.format == "GIF" and gif.n_frames > 1  # animated, not a still


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (make test installs it: apt-get install chromium)"
)
def test_upload_a_picture_and_animate_from_it(server, artifacts, tmp_path):
    from PIL import ImageDraw

    picture = tmp_path / "my-seven.png"
    im = Image.new("RGB", (300, 360), "white")
    ImageDraw.Draw(im).line([(90, 60), (210, 60), (120, 300)], fill="black", width=24)
    im.save(picture)
    with _browser() as browser:
        page = _space(browser, server)
        page.get_by_role("tab", name="Your picture").click()
        page.locator("#gm-picture input[type=file]").set_input_files(str(picture))
        page.locator("#gm-picture img").wait_for(state="visible", timeout=30_000)  # the upload went through the gate
        page.locator("#gm-project").click()
        pair = page.locator("#gm-pair img")
        pair.wait_for(state="visible", timeout=60_000)
        animation = page.locator("#gm-from-picture img")
        animation.wait_for(state="visible", timeout=60_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / "space-your-picture.png"), full_page=True)
        codes = [page.locator(f"#{i} textarea").input_value() for i in ("gm-latent", "gm-picture-recipe")]
        anim_src = animation.get_attribute("src")
    assert anim_src and anim_src.split("?")[0].endswith(".gif")
    assert '"class": 7' in codes[0] and '"latents"' in codes[1], codes


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (make test installs it: apt-get install chromium)"
)
def test_draw_a_digit_and_find_it(server, artifacts):
    with _browser() as browser:
        page = _space(browser, server)
        page.get_by_role("tab", name="Your picture").click()
        page.get_by_role("tab", name="Draw").click()
        page.locator("#gm-sketch button[aria-label='Brush']").click()
        canvas = page.locator("#gm-sketch canvas").first
        canvas.wait_for(state="visible", timeout=30_000)
        box = canvas.bounding_box()
        x0, y0 = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.2
        page.mouse.move(x0, y0)
        page.mouse.down()
        for i in range(1, 21):  # a vertical stroke: a 1
            page.mouse.move(x0 + i * 0.5, y0 + i * box["height"] * 0.03)
        page.mouse.up()
        page.wait_for_timeout(500)
        page.get_by_role("button", name="Find my drawing in the model").click()
        page.locator("#gm-pair img").wait_for(state="visible", timeout=60_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / "space-drawn.png"), full_page=True)
        latent = page.locator("#gm-latent textarea").input_value()
    assert '"class": 1' in latent, latent


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (make test installs it: apt-get install chromium)"
)
def test_draw_a_rose_and_get_its_equation(server, artifacts):
    import math

    with _browser() as browser:
        page = _space(browser, server)
        page.locator("#gm-model input").click()
        page.get_by_role("option", name="mathart-params", exact=True).click()
        page.get_by_role("tab", name="Your picture").click()
        page.get_by_role("tab", name="Draw").click()
        page.locator("#gm-sketch button[aria-label='Brush']").click()
        canvas = page.locator("#gm-sketch canvas").first
        canvas.wait_for(state="visible", timeout=30_000)
        box = canvas.bounding_box()
        cx, cy, r = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, 0.4 * min(box["width"], box["height"])
        points = [
            (cx + r * math.cos(3 * t) * math.cos(t), cy + r * math.cos(3 * t) * math.sin(t))
            for t in (i * math.pi / 120 for i in range(121))
        ]  # a three-petal rose, drawn with the mouse in one stroke
        page.mouse.move(*points[0])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(x, y)
        page.mouse.up()
        page.wait_for_timeout(500)
        page.get_by_role("button", name="Find my drawing in the model").click()
        page.locator("#gm-pair img").wait_for(state="visible", timeout=60_000)
        page.locator("#gm-verdict").get_by_text("rose").wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / "space-drawn-rose.png"), full_page=True)
        verdict = page.locator("#gm-verdict").inner_text()
        found = json.loads(page.locator("#gm-latent textarea").input_value())
    assert "rose" in verdict and "Found the curve" in verdict, verdict
    assert found["class"] == 1 and found["fits"] and abs(found["equation"]["rose_k"] - 3) < 0.3, found


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (make test installs it: apt-get install chromium)"
)
def test_drop_a_gif_to_restore_its_recipe(server, tmp_path):
    from serving import Generator, Recipe, render
    from tests.conftest import REPO

    gen = Generator.from_pretrained(REPO / "exported" / "mnist-cdcgan")
    made = Recipe(
        seeds=(11, 12, 13),
        classes=(1, 2, 3),
        frames=5,
        size=64,
        path="slerp",
        bundle_sha256=gen.config.sha256,
        bundle=gen.config.name,  # as every file ganimate writes names its model
    )
    gif = tmp_path / "made.gif"
    gif.write_bytes(render(gen, made))
    with _browser() as browser:
        page = _space(browser, server)
        opening = page.locator("#gm-preview img").get_attribute("src")
        page.locator("#gm-drop input[type=file]").set_input_files(str(gif))
        page.wait_for_function(
            "() => [...document.querySelectorAll('.cm-content')].some(e => e.innerText.includes('\"slerp\"'))",
            timeout=30_000,
        )
        page.get_by_role("button", name="Render", exact=True).click()
        page.wait_for_function(
            "(old) => { const i = document.querySelector('#gm-preview img');"
            " return i && i.getAttribute('src') !== old; }",
            arg=opening,
            timeout=60_000,
        )
        src = page.locator("#gm-preview img").get_attribute("src")
    url = src if src.startswith("http") else server.rstrip("/") + "/" + src.lstrip("/")
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.read() == gif.read_bytes()  # the dropped file's recipe renders the same bytes


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (make test installs it: apt-get install chromium)"
)
def test_on_a_phone_the_animation_is_the_first_thing_seen(server, artifacts):
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 412, "height": 915}, is_mobile=True, has_touch=True)
        page.goto(server, timeout=60_000)
        preview = page.locator("#gm-preview img")
        preview.wait_for(state="visible", timeout=60_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(artifacts / "space-phone.png"))
        box = preview.bounding_box()
        overflow = page.evaluate("document.documentElement.scrollWidth")
        loop_label = page.get_by_text("Loop: the last frame flows into the first").bounding_box()
        page.locator("#gm-examples").scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        page.locator("#gm-examples").screenshot(path=str(artifacts / "space-phone-examples.png"))
        thumb = page.locator("#gm-examples img").first.bounding_box()
    assert box["y"] + box["height"] <= 915 and box["x"] >= 0 and box["x"] + box["width"] <= 412  # no scrolling
    assert overflow <= 412  # nothing sticks out sideways
    assert loop_label and loop_label["x"] + loop_label["width"] <= 412  # the checkbox's label is shown, whole
    assert thumb and thumb["height"] >= 0.9 * thumb["width"]  # square thumbnails, not strips


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (make test installs it: apt-get install chromium)"
)
def test_a_share_link_opens_the_same_render(server):
    with _browser() as browser:
        page = _space(browser, server)
        page.locator("#gm-render").click()  # the defaults' render, then its link
        page.wait_for_function(
            "() => (document.querySelector('#gm-share textarea, #gm-share input') || "
            "{value: ''}).value.includes('?recipe=')",
            timeout=60_000,
        )
        link = page.locator("#gm-share textarea, #gm-share input").first.input_value()
        first = page.locator("#gm-preview img").get_attribute("src")
        other = browser.new_page(viewport={"width": 1280, "height": 1000})
        base, _, query = link.partition("?recipe=")
        changed = {**json.loads(urllib.parse.unquote(query)), "seeds": [9, 8]}  # another render, by its link
        other.goto(f"{base}?recipe={urllib.parse.quote(json.dumps(changed))}", timeout=60_000)
        other.wait_for_function(
            "() => (document.querySelector('#gm-share textarea, #gm-share input') || "
            "{value: ''}).value.includes('%5B9%2C%208%5D')",
            timeout=60_000,
        )
        opened = other.locator("#gm-preview img").get_attribute("src")
    assert "?recipe=" in link and first and opened and opened != first  # the link's own recipe was rendered


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (make test installs it: apt-get install chromium)"
)
def test_a_song_dropped_on_animate_plays_as_a_video_with_its_sound(server, artifacts, tmp_path):
    from tests import tracks

    song = tracks.write(tmp_path / "drums.wav", tracks.song(6.0)[0])
    with _browser() as browser:
        page = _space(browser, server)
        page.get_by_text("Music: the walk follows a song").click()
        page.locator("#gm-song input[type=file]").set_input_files(str(song))
        page.locator("#gm-song audio, #gm-song [data-testid='waveform-Song (optional)']").first.wait_for(
            state="attached", timeout=30_000
        )
        page.get_by_role("button", name="Render", exact=True).click(timeout=30_000)
        video = page.locator("video").first
        video.wait_for(state="visible", timeout=90_000)
        page.wait_for_function(
            "() => { const v = document.querySelector('video'); return v && v.duration > 0 }", timeout=30_000
        )
        duration = page.evaluate("document.querySelector('video').duration")
        src = video.get_attribute("src")
        page.wait_for_timeout(500)
        share = page.locator("#gm-share textarea").input_value()
        page.screenshot(path=str(artifacts / "space-music.png"), full_page=True)
    assert src and src.split("?")[0].endswith(".mp4")
    assert share == ""  # no link: it could not carry the song
    assert abs(duration - 6.0) < 0.2  # as long as the song


def _no_error_badge(page) -> bool:
    """No panel shows Gradio's red error status (the bare "Error" a failed event leaves)."""
    return (
        page.locator(".error, [data-testid='status-tracker'] .error").count() == 0
        and not page.get_by_text("Error", exact=True).count()
    )


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (make test installs it: apt-get install chromium)"
)
@pytest.mark.parametrize("width", [1280, 412])
def test_switching_to_every_model_shows_no_error_and_its_own_hint(server, app, artifacts, width):
    with _browser() as browser:
        page = browser.new_page(viewport={"width": width, "height": 1000}, is_mobile=width < 600)
        page.goto(server, timeout=60_000)
        page.locator("#gm-preview img").wait_for(state="visible", timeout=60_000)
        seen = {}
        for name in app.models:
            page.locator("#gm-model input").click()
            page.get_by_role("option", name=name, exact=True).click()
            hint = app.class_hint(name)
            page.get_by_text(hint.split(".")[0], exact=False).first.wait_for(state="visible", timeout=120_000)
            page.locator("#gm-examples img").first.wait_for(state="visible", timeout=120_000)
            page.wait_for_timeout(1000)  # the switch's other panels have answered
            page.screenshot(path=str(artifacts / f"space-switch-{name}-{width}.png"), full_page=True)
            seen[name] = (_no_error_badge(page), page.locator("#gm-examples img").count())
    assert all(ok for ok, _ in seen.values()), seen
    assert all(count >= 1 for _, count in seen.values()), seen  # every model shows its examples


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (make test installs it: apt-get install chromium)"
)
def test_a_share_link_with_markup_adds_no_element_to_the_page(server):
    hostile = [
        '<a href="//evil.test" id="gm-evil">log in</a>',
        json.dumps({"seeds": [1, 2], "name": '<form id="gm-evil"><input name="password"></form>'}),
        json.dumps({"seeds": '<img id="gm-evil" src=x>'}),
    ]
    with _browser() as browser:
        for value in hostile:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"{server}?recipe={urllib.parse.quote(value)}", timeout=60_000)
            page.locator("#gm-preview img").wait_for(state="visible", timeout=60_000)
            page.wait_for_timeout(1500)  # the link's own event has answered (a warning, or a render)
            assert page.locator("#gm-evil, a[href*='evil.test'], form input[name=password]").count() == 0, value
            page.close()


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (make test installs it: apt-get install chromium)"
)
def test_on_a_phone_render_brings_the_new_animation_into_view(server, artifacts):
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 412, "height": 915}, is_mobile=True, has_touch=True)
        page.goto(server, timeout=60_000)
        preview = page.locator("#gm-preview img")
        preview.wait_for(state="visible", timeout=60_000)
        before = preview.get_attribute("src")
        page.locator("#gm-seeds textarea, #gm-seeds input").first.fill("31,41,59")
        page.locator("#gm-render").scroll_into_view_if_needed()
        page.locator("#gm-render").click()
        page.wait_for_function(
            f"() => (document.querySelector('#gm-preview img') || {{}}).src !== {json.dumps(before)}", timeout=60_000
        )
        page.wait_for_timeout(1000)  # the scroll has settled
        page.screenshot(path=str(artifacts / "space-phone-after-render.png"))
        box = page.locator("#gm-preview img").bounding_box()
    assert box and box["y"] >= -box["height"] / 2 and box["y"] + box["height"] / 2 <= 915  # in view, at least half


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (make test installs it: apt-get install chromium)"
)
def test_a_hostile_webp_dropped_on_animate_freezes_nothing(server, tmp_path):
    """A 1 MB WebP whose every chunk holds the recipe's opening tag (a search for its pair from each one rescans
    the rest of the file): the page says it carries no recipe, and the API answers meanwhile."""
    import struct
    import threading
    import time

    chunk = b"JUNK" + struct.pack("<I", 18) + b"<ganimate:recipe>\x00"
    body = chunk * ((2**20 - 100) // len(chunk))
    hostile = tmp_path / "hostile.webp"
    hostile.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body)
    answered: list[float] = []

    def ask_the_api() -> None:  # another visitor, meanwhile
        for _ in range(20):
            started = time.perf_counter()
            with urllib.request.urlopen(f"{server}gradio_api/info", timeout=30) as resp:
                resp.read()
            answered.append(time.perf_counter() - started)
            time.sleep(0.1)

    with _browser() as browser:
        page = _space(browser, server)
        other = threading.Thread(target=ask_the_api)
        other.start()
        page.locator("#gm-drop input[type=file]").set_input_files(str(hostile))
        page.get_by_text("carries no ganimate recipe", exact=False).first.wait_for(state="visible", timeout=60_000)
        other.join(60)
        ok = _no_error_badge(page) or page.get_by_text("carries no ganimate recipe", exact=False).count() > 0
    assert len(answered) == 20 and ok  # the API answered all along (each within the urlopen timeout)


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (make test installs it: apt-get install chromium)"
)
def test_refusals_say_why_where_the_visitor_looks(server, tmp_path, artifacts):
    """A song over the cap says the cap ("Upload failed: ..."), not a bare "Error"; a Render with nothing
    changed says so; Explore's sliders are named for math art once it is chosen."""
    import numpy as np

    from tests.tracks import wav_bytes

    big = tmp_path / "long.wav"
    big.write_bytes(wav_bytes(np.zeros(6 * 2**20)))  # 12 MB of 16-bit silence: over the 10 MB cap
    with _browser() as browser:
        page = _space(browser, server)
        page.locator("#gm-music").click()
        page.locator("#gm-song input[type=file]").set_input_files(str(big))
        # Gradio's page checks max_file_size itself; a song past it that got through would meet the gate's line
        said = page.get_by_text(re.compile("maximum allowed size of 10.0 Mb|a song at most 10 MB")).first
        said.wait_for(state="visible", timeout=60_000)
        page.screenshot(path=str(artifacts / "space-song-too-big.png"))
        page.locator("#gm-render").click()
        page.get_by_text("Nothing changed since the last render", exact=False).first.wait_for(timeout=60_000)
        page.locator("#gm-model input").click()
        page.get_by_role("option", name="mathart-params", exact=True).click()
        page.get_by_role("tab", name="Explore").click()
        page.wait_for_timeout(3000)
        labels = page.locator("#gm-explore-row label").all_inner_texts()
    assert not any("Stroke thickness" in t for t in labels), labels  # the digits' names are gone on math art


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (make test installs it: apt-get install chromium)"
)
def test_on_a_phone_every_tab_caption_and_picture_is_where_it_can_be_seen(server, artifacts):
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 412, "height": 915}, is_mobile=True, has_touch=True)
        page.goto(server, timeout=60_000)
        page.locator("#gm-preview img").wait_for(state="visible", timeout=60_000)
        page.locator("#gm-examples img").first.wait_for(state="visible", timeout=60_000)
        tabs = [t.inner_text().strip() for t in page.get_by_role("tab").all() if t.is_visible()]
        captions = page.evaluate(
            "[...document.querySelectorAll('#gm-examples .caption-label')].map(e => e.scrollWidth <= e.clientWidth + 1)"
        )
        page.get_by_role("tab", name="Explore").click()
        picture = page.locator("#gm-explore img")
        picture.wait_for(state="visible", timeout=30_000)
        page.screenshot(path=str(artifacts / "space-phone-explore.png"), full_page=True)
        picture_box = picture.bounding_box()
        first_slider = page.locator("#gm-explore-row input[type=range]").first.bounding_box()
    assert {"Animate", "Your picture", "Sample", "Explore", "Compare", "About"} <= set(tabs), tabs  # none behind "..."
    assert captions and all(captions)  # each example's caption shown whole
    assert picture_box["y"] + picture_box["height"] <= first_slider["y"] + 1  # the picture right above its sliders
    assert first_slider["y"] - (picture_box["y"] + picture_box["height"]) < 400
