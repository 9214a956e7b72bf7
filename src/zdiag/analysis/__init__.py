"""zdiag's own analyses over parsed tables (issue 8: TCP sequence analysis)."""
