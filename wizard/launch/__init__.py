"""Starting a training run: preflight checks, the run manifest, the child process, clusters.

`session.prepare` + `session.start` are what `launch` and `demo` call; the pure command line is
built by `wizard.launch.command`, which `new` imports too (for the command in the YAML header),
so this package's face imports nothing. Nothing here imports axolotl, accelerate or torch: they
run in the child, and are probed in a subprocess of the Python that will run them.
"""
