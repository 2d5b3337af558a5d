"""Benchmarking: analytic FLOP counts, timings of the training step, the input pipeline,
dataset preparation and export, and the report (`pgan-benchmark` is the binary).

Submodules import TensorFlow; importing this package does not.
"""
