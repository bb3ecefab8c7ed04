"""Reusable widgets of the owb TUI."""
