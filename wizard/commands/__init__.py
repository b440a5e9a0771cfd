"""One module per verb. Each has `register(subparsers, common)` and `run(args) -> int`."""
