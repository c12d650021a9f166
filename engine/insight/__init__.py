"""Insight into a run: what fine-tuning fixed, how much data it needs, where models look."""
