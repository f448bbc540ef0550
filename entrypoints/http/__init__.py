"""The Litestar HTTP app: controllers translate and delegate to use cases."""
