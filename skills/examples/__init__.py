"""Example skill servers."""
