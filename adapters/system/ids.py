"""Opaque, unguessable identifiers: a type prefix and 96 random bits."""

import secrets


class RandomIds:
    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(12)}"
