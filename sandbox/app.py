"""The emulator as an aiohttp application: the wire contract (docs/wire-contract.md) under
`/rest/taobao-global/...`, each endpoint wrapped in the fault pipeline, plus `/_sandbox/...`.

| module | job |
|---|---|
| `sandbox.pipeline` | the fault pipeline every API request goes through |
| `sandbox.products` | product/get and render (read-only, over the catalog) |
| `sandbox.orders` | create and cancel (validated, then committed by the pipeline) |
| `sandbox.query` | the order query and its faults |
| `sandbox.lifecycle` | statuses over the simulated clock: payment wait, auto-close, shipping, cancel |
| `sandbox.tokens` | tokens and the refresh endpoint |
| `sandbox.control` | the `/_sandbox/...` control endpoints |
| `sandbox.state` | what one sandbox holds: config, store, clock, counters, RNGs |
"""

from __future__ import annotations

from aiohttp import web

from sandbox import lifecycle, orders, products, query, tokens
from sandbox.config import SandboxConfig
from sandbox.control import Control
from sandbox.pipeline import Handler, Pipeline
from sandbox.state import SandboxState
from sandbox.store import OrderStore

PREFIX = "/rest/taobao-global"
#: endpoint -> (method, path under PREFIX, handler)
ROUTES: dict[str, tuple[str, str, Handler]] = {
    "refresh": ("GET", "/auth/token/refresh", tokens.refresh),
    "product": ("GET", "/product/get", products.product),
    "render": ("POST", "/purchase/order/render", products.render),
    "create": ("POST", "/purchase/order/create", orders.create),
    "cancel": ("POST", "/purchase/order/asyn/cancel", orders.cancel),
    "query": ("GET", "/purchase/orders/query", query.query),
}
PATHS: dict[str, tuple[str, str]] = {name: (m, p) for name, (m, p, _h) in ROUTES.items()}

STATE: web.AppKey[SandboxState] = web.AppKey("sandbox_state", SandboxState)


def build_app(config: SandboxConfig) -> web.Application:
    """The aiohttp application; the order store opens (and closes) with the app's lifecycle."""
    state = SandboxState(config)
    pipeline = Pipeline(state)
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app[STATE] = state

    async def open_store(app: web.Application) -> None:
        state.store = OrderStore(config.db_path)
        for order in state.store.orders.values():  # changes still due after a restart
            lifecycle.schedule(state, order)

    async def close_store(app: web.Application) -> None:
        state.cancel_late_commits()  # a stopped backend never commits them
        if state.store is not None:
            state.store.close()

    app.on_startup.append(open_store)
    app.on_cleanup.append(close_store)
    for name, (method, path, handler) in ROUTES.items():
        app.router.add_route(
            method, PREFIX + path, pipeline.rest(name, handler, auth=name != "refresh")
        )
    app.router.add_routes(Control(state).routes())
    return app


__all__ = ["PATHS", "PREFIX", "STATE", "SandboxState", "build_app"]
