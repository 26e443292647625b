"""`python -m bench`: the benchmarks that exist so far (train speed; render benchmarks are still to come)."""

from bench.train_speed import main

main()
