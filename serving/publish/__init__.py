"""Publishing to the Hugging Face Hub: bundles and the Space (`hub`), the files a Space is made of
(`space_files`) and the cards of both (`cards`). It never imports the Space: the Space's launcher is text here.

May import: serving.errors, serving.atomic, serving.inputs, serving.latent, serving.files, serving.bundle.
"""
