"""Serve every deployment of prefect.yaml from this one process: no work pool, no worker.

    python deployments/serve.py                         # all deployments, schedules as in prefect.yaml
    python deployments/serve.py --only drift-check      # a subset (repeatable)
    python deployments/serve.py --drift-interval 60     # try the drift check every minute instead of its cron

prefect.yaml stays the one place deployments are defined: names, entrypoints, parameters, tags,
concurrency limits and schedules are read from it (schedules through the converter `prefect deploy`
itself uses), so a served deployment and a deployed one behave alike. Both create the deployment
under the same name on the server; run one or the other, not both. Each flow run executes in a
subprocess of this process, with this process's environment (where the database URL variables
live). Needs PREFECT_API_URL pointing at a Prefect server: schedules never run on the ephemeral one.
Stop with Ctrl-C (schedules are paused on the way out).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment


def load_config(path: Path) -> dict[str, Any]:
    """prefect.yaml with its anchors resolved and `{{ $VAR }}` placeholders filled from the environment."""
    import yaml
    from prefect.utilities.templating import apply_values

    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return apply_values(config, dict(os.environ), remove_notset=False)  # type: ignore[no-any-return]


def to_deployments(
    config: dict[str, Any], *, only: list[str] | None = None, drift_interval: float | None = None
) -> list[RunnerDeployment]:
    """The RunnerDeployments prefect.yaml describes (the `work_pool` section is ignored: served runs need none)."""
    from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule
    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from prefect.flows import load_flow_from_entrypoint

    specs = config.get("deployments") or []
    known = [spec["name"] for spec in specs]
    unknown = sorted(set(only or []) - set(known))
    if unknown:
        raise SystemExit(f"prefect.yaml has no deployment {', '.join(unknown)} (it has {', '.join(known)}).")
    deployments = []
    for spec in specs:
        if only and spec["name"] not in only:
            continue
        flow = load_flow_from_entrypoint(spec["entrypoint"])
        schedules = [_schedule_config_to_deployment_schedule(s) for s in spec.get("schedules") or []]
        if drift_interval is not None and spec["name"] == "drift-check":
            schedules = [_schedule_config_to_deployment_schedule({"interval": drift_interval})]
        limit = spec.get("concurrency_limit")
        if isinstance(limit, dict):
            limit = ConcurrencyLimitConfig(**limit)
        deployments.append(
            flow.to_deployment(
                name=spec["name"],
                description=spec.get("description"),
                tags=spec.get("tags"),
                version=spec.get("version"),
                parameters=spec.get("parameters"),
                schedules=schedules,
                concurrency_limit=limit,
                enforce_parameter_schema=spec.get("enforce_parameter_schema", True),
            )
        )
    return deployments


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--file", type=Path, default=ROOT / "prefect.yaml", help="The prefect.yaml to serve.")
    parser.add_argument("--only", action="append", metavar="NAME", help="Serve only this deployment (repeatable).")
    parser.add_argument(
        "--drift-interval", type=float, metavar="SECONDS", help="Run drift-check every SECONDS instead of its cron."
    )
    parser.add_argument("--limit", type=int, help="At most this many flow runs at once (default: no limit).")
    args = parser.parse_args(argv)

    os.chdir(ROOT)  # entrypoints in prefect.yaml are relative to the repository root
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from prefect import serve

    deployments = to_deployments(load_config(args.file), only=args.only, drift_interval=args.drift_interval)
    serve(*deployments, limit=args.limit)


if __name__ == "__main__":
    main()
