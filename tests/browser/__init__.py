"""Browser tests: the real app in headless Chromium (needs ../shared and chromium)."""
