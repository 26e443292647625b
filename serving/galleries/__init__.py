"""Galleries: rendered files and the index of the recipes that made them (`gallery`), in SQLite or PostgreSQL
(`gallery_db`).

May import: serving.errors, serving.atomic, serving.inputs, serving.latent, serving.files, serving.bundle,
serving.rendering.
"""
