"""The latent space: seeds -> z (`latents`, the portable `splitmix64-boxmuller-v1`), classes as soft one-hots,
and keyframes -> per-frame latents (`paths`: lerp, slerp, cubic, orbits, easing).

May import: serving.errors, serving.atomic, serving.inputs.
"""
