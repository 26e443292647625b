"""The Breed tab's handlers and endpoints: candidates, children of the picked ones, and a child's walk in Animate."""

import json

from serving.files.recipe_file import recipe_in_file

MODEL = "mathart-params"


def test_candidates_breed_and_children_render_again_byte_identical(app):
    from serving.rendering.still import Still, still_bytes

    items, sheet, lineage, grid = app.breed_candidates(MODEL, "0-3")
    assert len(items) == 4 and "0: lissajous, seed 0" in lineage
    assert json.loads(recipe_in_file(grid)) == json.loads(sheet)
    kids, kid_sheet, kid_lineage, _ = app.breed(MODEL, sheet, ["1", "2"], 6, 7, 0.3)
    assert len(kids) == 6 and kid_lineage.count("child") == 6
    children = json.loads(kid_sheet)["children"]
    parents = {c["breed"]["parents"][0] for c in children} | {c["breed"]["parents"][1] for c in children}
    assert len(parents) == 2  # the two picked, named by their recipes' hashes
    gen = app.model(MODEL)
    for (path, _), child in zip(kids, children):
        with open(path, "rb") as f:
            assert f.read() == still_bytes(gen, Still.from_dict(child))  # the file is its recipe's render
    again, _, _, _ = app.breed(MODEL, sheet, ["1", "2"], 6, 7, 0.3)
    assert [open(p, "rb").read() for p, _ in again] == [open(p, "rb").read() for p, _ in kids]


def test_a_child_opens_in_animate_and_a_single_pick_is_refused(app):
    import gradio as gr
    import pytest

    _, sheet, _, _ = app.breed_candidates(MODEL, "4-7")
    kids_sheet = app.breed(MODEL, sheet, ["0", "3"], 4, 1, 0.2)[1]
    recipe = json.loads(app.breed_to_animate(MODEL, kids_sheet, "2"))
    child = json.loads(kids_sheet)["children"][2]
    assert recipe["latents"][0] == child["latent"] and recipe["classes"][0] == child["class"]
    from serving.rendering.recipe import Recipe
    from serving.rendering.render import build_inputs

    walk = Recipe.from_json(json.dumps(recipe))
    z, _ = build_inputs(walk, 32, 5)
    assert abs(z[0] - child["latent"]).max() < 1e-6  # the walk starts at the child
    with pytest.raises(gr.Error, match="2.."):
        app.breed(MODEL, sheet, ["1"], 4, 1, 0.2)


def test_the_breed_endpoints_are_in_the_api_with_descriptions(client):
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    for name in ("/breed", "/breed_candidates"):
        assert name in info
    result = client.predict(MODEL, "0-2", api_name="/breed_candidates")
    assert len(result[0]) == 3 and json.loads(result[1])["kind"] == "breed"


def test_too_many_or_repeated_picks_are_refused_before_any_recipe_is_read(app):
    import gradio as gr
    import pytest

    from serving.rendering.still import MAX_PARENTS

    # Children that are no recipes: reading any of them would fail with another message.
    junk = json.dumps({"kind": "breed", "children": [{"kind": "still"}] * (MAX_PARENTS + 4)})
    with pytest.raises(gr.Error, match=f"at most {MAX_PARENTS}"):
        app.breed(MODEL, junk, [str(i) for i in range(MAX_PARENTS + 1)], 4, 1, 0.2)
    with pytest.raises(gr.Error, match="once"):
        app.breed(MODEL, junk, ["1", "2", "1"], 4, 1, 0.2)


def test_a_childs_walk_names_its_bundle(app):
    gen = app.model(MODEL)
    _, sheet, _, _ = app.breed_candidates(MODEL, "0-3")
    recipe = json.loads(app.breed_to_animate(MODEL, sheet, "1"))
    assert recipe["bundle"] == gen.config.name and recipe["bundle_sha256"] == gen.config.sha256


def test_breeding_shares_the_work_limit_with_animate(app):
    from serving.space import build_demo

    demo = build_demo(app.models, app=app)
    limits = {f.api_name: (f.concurrency_id, f.concurrency_limit) for f in demo.fns.values()}
    for name in ("breed", "breed_candidates"):
        assert limits[name] == limits["animate"] == ("work", 3)
