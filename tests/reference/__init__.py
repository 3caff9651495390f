"""Test-only re-implementations of reference projects (for parity tests)."""
