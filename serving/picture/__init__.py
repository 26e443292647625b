"""Your picture: a person's own picture projected to the latent (and class) the generator draws it from
(`project`).

May import: serving.errors, serving.atomic, serving.inputs, serving.latent, serving.files, serving.bundle.
"""
