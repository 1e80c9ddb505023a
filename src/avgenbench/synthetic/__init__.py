"""Synthetic clips with known ground truth: the encoder here; generator, perturbations and calibration build on it."""
