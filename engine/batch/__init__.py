"""Batch classify: every photo of a folder or .zip through both models, as a table and a CSV."""
