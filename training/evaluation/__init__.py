"""Verification metrics, bootstrap intervals, calibration and plots."""
