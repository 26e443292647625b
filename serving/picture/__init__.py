"""Your picture: a person's own picture projected to the latent (and class) the generator draws it from
(`project`); for the math-art model, a drawing's line (`line`) fitted as a curve family's equation (`curve_fit`)
and then as a latent (`drawing`).

May import: serving.errors, serving.atomic, serving.inputs, serving.latent, serving.files, serving.bundle,
serving.art.
"""
