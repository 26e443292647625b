"""`python -m bench`: every benchmark, each printing its figures and ratios measured side by side."""

from bench import render, train_speed

print("## Render latency (R1, R2) against the naive per-frame reference\n")
render.main([])
print("\n## Training throughput against the tutorial-style loop\n")
train_speed.main()
