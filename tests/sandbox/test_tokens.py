"""Access-token expiry and refresh rotation."""

from __future__ import annotations

from typing import Any

from sandbox.testing import SandboxControl
from tests.sandbox.conftest import Api

AUTH_FAILURE = {
    "success": False,
    "errorCode": "IllegalAccessToken",
    "errorMsg": "The specified access token is invalid or expired",
    "data": None,
}


def _refresh(api: Api, refresh_token: str) -> dict[str, Any]:
    return api.get("/auth/token/refresh", refresh_token=refresh_token).json()


def test_missing_or_unknown_token_is_refused(api: Api, control: SandboxControl) -> None:
    no_header = api.http.get("/product/get", params={"item_id": "718293045561"})
    assert no_header.status_code == 200 and no_header.json() == AUTH_FAILURE
    api.token = "not-a-token"
    assert api.product(718293045561) == AUTH_FAILURE
    assert _refresh(api, api.handle.refresh_token)["error_code"] == "IllegalAccessToken"
    assert control.stats()["auth_failures"] == 2


def test_expired_token_refresh_rotates_both_tokens(api: Api, control: SandboxControl) -> None:
    assert api.product(718293045561)["success"] is True
    control.expire_token()
    assert api.product(718293045561) == AUTH_FAILURE
    old_refresh = api.handle.refresh_token
    body = _refresh(api, old_refresh)  # an expired (but known) access token may refresh
    assert body["error_code"] is None
    assert body["expires_in"] == 3600 and body["refresh_expires_in"] == "2592000"
    assert body["access_token"] != api.token and body["refresh_token"] != old_refresh
    api.token = body["access_token"]
    assert api.product(718293045561)["success"] is True
    again = _refresh(api, old_refresh)  # the old refresh token no longer works
    assert again["error_code"] == "IllegalRefreshToken" and again["access_token"] is None
    rotated = _refresh(api, body["refresh_token"])
    assert rotated["error_code"] is None
    stats = control.stats()
    assert (
        stats["refreshes"] == 2 and stats["refresh_failures"] == 1 and stats["auth_failures"] == 1
    )


def test_token_ttl_applies_to_new_tokens(api: Api, control: SandboxControl) -> None:
    control.set_config(token_ttl_s=0)
    body = _refresh(api, api.handle.refresh_token)
    assert body["expires_in"] == 0
    api.token = body["access_token"]
    assert api.product(718293045561) == AUTH_FAILURE


def test_expired_refresh_token_needs_reauthorisation(api: Api, control: SandboxControl) -> None:
    control.expire_token(refresh=True)
    body = _refresh(api, api.handle.refresh_token)
    assert body["error_code"] == "IllegalRefreshToken"


def test_reset_restores_the_initial_tokens(api: Api, control: SandboxControl) -> None:
    body = _refresh(api, api.handle.refresh_token)
    control.expire_token()
    control.reset()
    assert api.product(718293045561)["success"] is True  # the initial token works again
    assert _refresh(api, body["refresh_token"])["error_code"] == "IllegalRefreshToken"
