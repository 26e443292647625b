"""Math art in numpy: the parameter table and its prior (`mathart`), the renderer (`mathart_render`) and the
parameter CSV (`mathart_csv`, also `python -m serving.art.mathart_csv`).

May import: serving.errors, serving.atomic, serving.inputs.
"""
