"""owb's user interfaces: the Textual TUI and the `owb` command line."""
