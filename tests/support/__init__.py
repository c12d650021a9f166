"""Helpers shared by tests and benchmarks: where ../shared is, a Streamlit server, Chromium."""
