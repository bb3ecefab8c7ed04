"""The owb TUI's screens; each stays thin and calls the engine."""
