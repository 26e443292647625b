"""Training side of ganimate (the only package that imports TensorFlow)."""

import os

# TensorFlow's C++ start-up chatter (oneDNN notices, CPU feature lines) buries the messages users need.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
