"""After training: a finished run taken to use (merge, chat, evaluate, export) through Axolotl's
own commands, each run the way `launch` runs training (preflight, manifest, signals, locks)."""
