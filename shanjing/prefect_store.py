"""A token store backed by a Prefect Secret block, for unattended deployments.

The block's value is a JSON text of the token pair (`TokenInfo.to_storage()`). Prefect is
imported lazily so the client itself does not depend on it. Prefect's block methods switch to
coroutines inside an event loop; `_sync=True` keeps them synchronous (the TokenManager calls
stores from a worker thread anyway).
"""

from __future__ import annotations

import json
from typing import Any

from shanjing.errors import ReauthorizationRequired
from shanjing.models import TokenInfo

__all__ = ["PrefectSecretTokenStore"]


class PrefectSecretTokenStore:
    """Load and save the pair in the Prefect Secret block `block_name`."""

    writable = True

    def __init__(self, block_name: str) -> None:
        self.block_name = block_name

    def load(self) -> TokenInfo:
        from prefect.blocks.system import Secret

        try:
            block: Any = Secret.load(self.block_name, _sync=True)
        except ValueError:
            raise ReauthorizationRequired(
                "auth",
                None,
                f"Prefect Secret block {self.block_name!r} not found: re-authorize the Shanjing "
                "account and save the token pair in it (or set SHANJING_ACCESS_TOKEN/"
                "SHANJING_REFRESH_TOKEN)",
            ) from None
        value = block.get()
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = None
        try:
            if not isinstance(value, dict):
                raise TypeError
            return TokenInfo.from_storage(value)
        except (KeyError, TypeError, ValueError):
            raise ReauthorizationRequired(
                "auth",
                None,
                f"Prefect Secret block {self.block_name!r} does not hold a token pair: "
                "re-authorize the Shanjing account and save the pair as JSON",
            ) from None

    def save(self, tokens: TokenInfo) -> None:
        from prefect.blocks.system import Secret

        Secret(value=json.dumps(tokens.to_storage())).save(
            self.block_name, overwrite=True, _sync=True
        )

    def __repr__(self) -> str:
        return f"PrefectSecretTokenStore({self.block_name!r})"
