"""HTTP app, CLI and the composition root."""
