"""Music: a song decoded and measured (`audio`: onsets, loudness, beats) and the walk that follows it (`walk`).

May import: serving.errors, serving.atomic, serving.inputs, serving.latent, serving.files.
"""
