"""Reporters: terminal, xlsx, sarif, junit, json — one module each."""
