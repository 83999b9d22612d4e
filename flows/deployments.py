"""The deployments of `prefect.yaml`, rebuilt for `flow.serve` (one machine, no work pool).

`prefect.yaml` stays the single description of the schedules, parameters and concurrency
limits: `prefect deploy --all` registers it for workers, and `purchase-sync serve` reads the
same file, so the two ways of scheduling cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.schedules import Cron, Schedule

from schemas.errors import UserError

PREFECT_YAML = Path(__file__).resolve().parent.parent / "prefect.yaml"


def load_deployment_specs(path: Path = PREFECT_YAML) -> list[dict[str, Any]]:
    """The `deployments:` entries of prefect.yaml, YAML anchors and merge keys resolved."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path} is not valid YAML: {exc}") from None
    specs = (data or {}).get("deployments") or []
    if not specs:
        raise UserError(f"{path} defines no deployments")
    return specs


def _schedules(spec: dict[str, Any]) -> list[Schedule]:
    out = []
    for s in spec.get("schedules") or []:
        if "cron" not in s:
            raise UserError(f"deployment {spec.get('name')!r}: only cron schedules are served")
        out.append(Cron(s["cron"], timezone=s.get("timezone"), active=s.get("active", True)))
    return out


def _limit(spec: dict[str, Any]) -> ConcurrencyLimitConfig | None:
    raw = spec.get("concurrency_limit")
    if raw is None:
        return None
    if isinstance(raw, int):
        return ConcurrencyLimitConfig(limit=raw)
    return ConcurrencyLimitConfig(
        limit=raw["limit"],
        collision_strategy=ConcurrencyLimitStrategy(raw.get("collision_strategy", "ENQUEUE")),
    )


def runner_deployments(path: Path = PREFECT_YAML) -> list[Any]:
    """`RunnerDeployment`s of the flow, one per prefect.yaml deployment, ready for `serve()`."""
    from flows.sync_flow import purchase_sync

    deployments = []
    for spec in load_deployment_specs(path):
        deployments.append(
            purchase_sync.to_deployment(
                name=spec["name"],
                description=spec.get("description"),
                tags=spec.get("tags"),
                schedules=_schedules(spec),
                parameters=spec.get("parameters") or {},
                concurrency_limit=_limit(spec),
                _sync=True,  # plain objects even when called inside an event loop
            )
        )
    return deployments
