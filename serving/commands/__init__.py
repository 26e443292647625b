"""The subcommands of `python -m serving` (serving/cli.py parses and dispatches): one module a subcommand, each
with its flags (`add_parser`) and its work (`run`), and the flags and helpers several share (`common`).

May import: serving.errors, serving.atomic, serving.inputs, serving.latent, serving.files, serving.bundle,
serving.music, serving.picture, serving.rendering, serving.art, serving.galleries, serving.publish.
"""
