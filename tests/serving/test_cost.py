"""The time cap: a request's work turned into seconds measured on this machine (serving.rendering.cost)."""

import dataclasses

import pytest

from serving.bundle.generator import Generator
from serving.errors import BudgetError
from serving.rendering import cost
from serving.rendering.budget import CLI, SPACE
from serving.rendering.recipe import Recipe
from serving.rendering.render import render
from tests.conftest import REPO


@pytest.fixture(scope="module")
def digits():
    return Generator.from_pretrained(REPO / "exported" / "mnist-cdcgan")


def test_a_request_past_the_time_cap_is_refused_before_any_work(digits, monkeypatch):
    tight = dataclasses.replace(SPACE, seconds=0.05)
    big = Recipe(seeds=tuple(range(16)), frames=16, grid=(4, 4), size=512)  # R2: seconds of work
    cost.seconds_per_image(digits), cost.encoder_cost("gif")  # measured once, before the watch starts
    calls = []
    monkeypatch.setattr(digits, "in_parallel", lambda *a: calls.append(a))  # no frame may be made
    with pytest.raises(BudgetError, match=r"would take about \d+ s here; this Space allows 0 s"):
        render(digits, big, tight)
    assert calls == []


def test_the_estimate_grows_with_the_work_and_the_defaults_fit_the_space(digits):
    one = cost.estimate([(digits, 96)], 96 * 256 * 256, "gif")
    four = cost.estimate([(digits, 4 * 96)], 4 * 96 * 256 * 256, "gif")
    assert 0 < one < four <= 4 * one + 1e-9
    assert cost.check_time([(digits, 96)], 96 * 256 * 256, "gif", SPACE) < SPACE.seconds
    assert render(digits, Recipe(), SPACE)[:6] == b"GIF89a"  # the page's own default is never refused


def test_the_command_line_measures_nothing_and_has_no_time_cap(tiny_bundles):
    gen = Generator.from_pretrained(tiny_bundles["gan"])
    render(gen, Recipe(seeds=(1, 2), frames=2, size=16), CLI)
    assert getattr(gen, "_seconds_per_image", None) is None  # CLI has no cap: no measuring run


def test_a_busy_moment_does_not_freeze_the_estimate(monkeypatch):
    """A first measurement taken while the machine was busy is outvoted by the next quiet one, which runs on a
    thread of its own (no request waits for it)."""
    import time

    readings = iter([10.0, 1.0, 5.0, (3.0, 2.0), (1.0, 4.0)])
    monkeypatch.setattr(cost.Recent, "REFRESH_S", 0.0)

    def settled(recent):
        recent.value()
        for _ in range(500):  # bounded: the measuring thread appends within milliseconds
            if not recent.measuring:
                break
            time.sleep(0.01)
        return recent._best()

    recent = cost.Recent(lambda: next(readings))
    assert recent.value() == 10.0  # the first: measured in the request itself
    assert settled(recent) == 1.0 and settled(recent) == 1.0
    parts = cost.Recent(lambda: next(readings))
    assert parts.value() == (3.0, 2.0) and settled(parts) == (1.0, 2.0)  # each part's best


def test_the_estimate_is_measured_again_once_a_minute_has_passed(digits, monkeypatch):
    import time

    cost.seconds_per_image(digits)
    recent = digits._seconds_per_image
    before = len(recent.seen)
    cost.seconds_per_image(digits)
    assert len(recent.seen) == before and not recent.measuring  # within the minute: nothing measured
    monkeypatch.setattr(cost.Recent, "REFRESH_S", 0.0)
    cost.seconds_per_image(digits)
    for _ in range(500):
        if len(recent.seen) > before:
            break
        time.sleep(0.01)
    assert len(recent.seen) == before + 1
