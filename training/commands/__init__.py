"""The command line's commands: one module per command, its options and ``run``."""
