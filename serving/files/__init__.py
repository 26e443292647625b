"""Frames into files and back: GIF (`gif`, `gif_blocks`), WebP, PNG and MP4 (`formats`, `video`),
grids of pictures (`grid`), and the recipe a file carries (`recipe_file`).

May import: serving.errors, serving.atomic, serving.inputs, serving.latent.
"""
