"""Data health: class balance, duplicates and leakage, odd photos, suspected label errors."""
