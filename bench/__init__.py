"""Benchmarks beside the application: each prints figures, none asserts a time (see README, make bench)."""
