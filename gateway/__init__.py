"""The hookgate gateway: verify, de-duplicate, publish with a confirm, answer."""
