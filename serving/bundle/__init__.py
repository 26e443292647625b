"""A bundle: its contract (`config`, config.json), the static checks of its model.onnx (`bundle_checks`,
`onnx_proto`), onnxruntime sessions (`ort_session`), the `Generator` that runs it, and which work may spread over
every core (`lanes`).

May import: serving.errors, serving.atomic, serving.inputs, serving.latent, serving.files.
"""
