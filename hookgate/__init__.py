"""hookgate's floor: what the gateway and the consumers both speak, and nothing else."""
