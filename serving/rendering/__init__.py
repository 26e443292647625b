"""Rendering: the recipe and its schema (`recipe`), the work budget and its cost in seconds (`budget`, `cost`),
`render` itself, frame resizing (`resize`), two models side by side (`compare`), labelled stills (`sample`) and
named latent directions (`directions`).

May import: serving.errors, serving.atomic, serving.inputs, serving.latent, serving.files, serving.bundle,
serving.music, serving.art.
"""
