"""GPU facts: the GPUs the wizard knows by name (`gpus.yaml`) and what this machine has."""
