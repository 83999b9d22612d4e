"""Stage 6, create: send every plan at most once per claim, and reconcile between passes.

- The producer claims (one committed transaction per batch) no further ahead than
  `max_concurrency + claim_batch` rows not yet answered: a crash strands at most `claim_batch`
  rows never sent (besides the requests in flight and the answers not yet written, every
  250 ms or 2 x `claim_batch`).
- A heartbeat renews the leases of every claim not yet settled, every `heartbeat_s`; a claim
  whose renewal is refused (fenced, or its lease lapsed) is never sent.
- A send starts only while its lease has at least one heartbeat interval left, and is bounded
  by the client's deadline; the deadline is stored with the claim so a reconciler knows when
  "absent" may be trusted.
- If the producer, a worker or the outcome writer fails, the other tasks are cancelled and
  awaited; a request cancelled in flight is recorded `unknown`, claims never sent are released.
"""

from __future__ import annotations

import asyncio
import contextlib

from ledger import Claim, Ledger, State
from schemas.errors import UserError
from shanjing import ReauthorizationRequired, ShanjingClient, ShanjingError, TransportError

from .common import Budget, Progress, Resolution, log
from .outcomes import OutcomeWriter, created_outcome, error_outcome
from .plan import Plan, create_request, warehouse_address
from .rails import Rails, dry_run_rails, hold_by_margin
from .reconcile import client_deadline, reconcile
from .report import SubmitReport
from .settings import SubmitSettings


def lease_problem(lease_s: float, heartbeat_s: float, deadline_s: float) -> str | None:
    """Why a lease cannot cover the sends, or None. With a heartbeat, a lease must outlive one
    missed renewal and still leave one interval to start a send (3 x heartbeat_s); without one
    (heartbeat_s = 0), it must cover the client's whole deadline."""
    if heartbeat_s > 0 and lease_s < 3 * heartbeat_s:
        return (
            f"lease_s={lease_s:g} is shorter than 3 x heartbeat_s={heartbeat_s:g}: a lease would "
            "lapse between renewals and no purchase would be sent"
        )
    if heartbeat_s <= 0 and lease_s < deadline_s:
        return (
            f"lease_s={lease_s:g} cannot cover the client deadline of {deadline_s:g}s without a "
            "heartbeat: no purchase would be sent"
        )
    return None


def check_lease(settings: SubmitSettings, deadline_s: float) -> None:
    problem = lease_problem(settings.lease_s, settings.heartbeat_s, deadline_s)
    if problem:
        raise UserError(f"bad submit settings: {problem}")


def send_margin_s(settings: SubmitSettings, deadline_s: float) -> float:
    """The lease a claim must still have for its send to start."""
    return settings.heartbeat_s if settings.heartbeat_s > 0 else deadline_s


async def create(
    resolution: Resolution,
    *,
    client: ShanjingClient,
    ledger: Ledger,
    settings: SubmitSettings,
    run_id: str,
    report: SubmitReport | None = None,
    on_progress: Progress = None,
    budget: Budget = None,
) -> SubmitReport:
    """Apply the rails, then send every plan: claim a batch (committed), send it with at most
    `max_concurrency` in flight, write the outcomes in batches. Between passes the run's own
    `unknown` purchases are reconciled (after their not-before) and the absent ones sent again."""
    report = report or SubmitReport(run_id=run_id, dry_run=settings.dry_run)
    plans, held = hold_by_margin(resolution.plans, settings, report)
    if settings.dry_run:
        dry_run_rails(plans, settings, report)
        return report
    check_lease(settings, client_deadline(client))
    if held:
        await asyncio.to_thread(ledger.mark_failed, run_id, held)

    by_id = {plan.outer_purchase_id: plan for plan in plans}
    ids = list(by_id)
    rails = Rails(settings.max_purchases, settings.max_amount_fen)
    pending = plans
    fatal: list[BaseException] = []
    for pass_no in range(settings.max_passes):
        report.passes += 1
        await send_pass(
            pending, client, ledger, settings, run_id, report, rails, by_id, fatal, on_progress,
            budget,
        )  # fmt: skip
        if fatal or rails.stopped:
            break
        states = await asyncio.to_thread(ledger.states, ids)
        unsettled = [i for i in ids if states[i].state in (State.UNKNOWN, State.SUBMITTING)]
        again = [by_id[i] for i in ids if states[i].state is State.PLANNED]
        if (not unsettled and not again) or pass_no == settings.max_passes - 1:
            break
        if unsettled:
            await reconcile(
                client=client,
                ledger=ledger,
                settings=settings,
                run_id=run_id,
                among=unsettled,
                report=report,
                on_progress=on_progress,
            )
            states = await asyncio.to_thread(ledger.states, ids)
            again = [by_id[i] for i in ids if states[i].state is State.PLANNED]
        if not again:
            break
        pending = again
    if rails.stopped:
        report.stopped_reason = rails.stopped
        sent = set(rails.sent)
        report.skipped_by_rail = sum(1 for i in ids if i not in sent)
    if fatal:
        raise fatal[0]
    return report


class _Claims:
    """The claims of one pass not yet settled, with their leases as last renewed."""

    def __init__(self) -> None:
        self.held: dict[str, Claim] = {}
        self.lease_until: dict[str, float] = {}
        self.lost: set[str] = set()

    def add(self, claims: list[Claim]) -> None:
        for c in claims:
            self.held[c.outer_purchase_id] = c
            self.lease_until[c.outer_purchase_id] = c.lease_expires_at

    def settled(self, ids: list[str]) -> None:
        for oid in ids:
            self.held.pop(oid, None)

    def renewed(self, asked: list[Claim], got: dict[str, float]) -> None:
        for c in asked:
            if c.outer_purchase_id in got:
                self.lease_until[c.outer_purchase_id] = got[c.outer_purchase_id]
            elif self.held.get(c.outer_purchase_id) == c:
                self.lost.add(c.outer_purchase_id)

    def may_send(self, claim: Claim, now: float, margin_s: float) -> bool:
        oid = claim.outer_purchase_id
        return oid not in self.lost and self.lease_until.get(oid, 0.0) - now >= margin_s


async def send_pass(
    plans: list[Plan],
    client: ShanjingClient,
    ledger: Ledger,
    settings: SubmitSettings,
    run_id: str,
    report: SubmitReport,
    rails: Rails,
    by_id: dict[str, Plan],
    fatal: list[BaseException],
    on_progress: Progress,
    budget: Budget,
) -> None:
    batch = settings.claim_batch
    n_workers = settings.max_concurrency
    deadline_s = client_deadline(client)
    margin_s = send_margin_s(settings, deadline_s)
    ahead = asyncio.Semaphore(n_workers + batch)  # claimed and not yet answered
    queue: asyncio.Queue[tuple[Plan, Claim] | None] = asyncio.Queue()
    claims = _Claims()
    writer = OutcomeWriter(
        ledger, run_id, 2 * batch, report, by_id, on_progress, len(plans), claims.settled
    )
    warehouse = warehouse_address(settings)

    async def producer() -> None:
        i = 0
        try:
            while i < len(plans) and not fatal and rails.stopped is None:
                chunk: dict[str, str] = {}
                tentative: dict[str, int] = {}
                tentative_amount = 0
                while i < len(plans) and len(chunk) < batch:
                    plan = plans[i]
                    if not rails.allows(plan, tentative, tentative_amount):
                        break
                    chunk[plan.outer_purchase_id] = plan.payload_hash
                    if plan.outer_purchase_id not in rails.sent:
                        tentative[plan.outer_purchase_id] = plan.amount_fen
                        tentative_amount += plan.amount_fen
                    i += 1
                if not chunk:
                    break
                for _ in chunk:
                    await ahead.acquire()
                if budget is not None:
                    await budget(len(chunk))
                got = await asyncio.to_thread(
                    ledger.claim,
                    run_id,
                    len(chunk),
                    settings.lease_s,
                    among=chunk,
                    deadline_s=deadline_s,
                )
                claims.add(got)
                for _ in range(len(chunk) - len(got)):
                    ahead.release()
                for c in got:
                    rails.mark_sent(c.outer_purchase_id, by_id[c.outer_purchase_id].amount_fen)
                    queue.put_nowait((by_id[c.outer_purchase_id], c))
        finally:
            for _ in range(n_workers):
                queue.put_nowait(None)

    async def worker() -> None:
        while (item := await queue.get()) is not None:
            try:
                await send_one(*item)
            finally:
                ahead.release()

    async def send_one(plan: Plan, claim: Claim) -> None:
        if fatal or not claims.may_send(claim, ledger.clock(), margin_s):
            writer.release(claim)  # never sent: the claim is given back (attempts kept)
            return
        report.creates_sent += 1
        attempt = claim.attempts
        try:
            async with asyncio.timeout(deadline_s):
                result = await client.create_order(create_request(plan, settings, warehouse))
        except ReauthorizationRequired as exc:
            if not fatal:
                fatal.append(exc)
            writer.add(error_outcome(plan, exc, attempt))
        except asyncio.CancelledError as exc:
            writer.add(error_outcome(plan, exc, attempt))  # possibly received: reconciled
            raise
        except Exception as exc:
            if not isinstance(exc, ShanjingError | TimeoutError):
                log.exception("create %s: unexpected error", plan.outer_purchase_id)
            writer.add(error_outcome(plan, exc, attempt))
        else:
            if result.orders:
                writer.add(created_outcome(plan, result, attempt))
            else:
                lost = TransportError(
                    "create", None, "success without orders", possibly_received=True
                )
                writer.add(error_outcome(plan, lost, attempt))

    async def heartbeat() -> None:
        if settings.heartbeat_s <= 0:
            return
        while True:
            await asyncio.sleep(settings.heartbeat_s)
            asked = list(claims.held.values())
            if not asked:
                continue
            try:
                got = await asyncio.to_thread(ledger.heartbeat, asked, settings.lease_s)
            except Exception as exc:  # the leases run down; sends stop starting before they lapse
                log.warning("heartbeat failed (%s): %d lease(s) not renewed", exc, len(asked))
                continue
            claims.renewed(asked, got)

    try:
        async with asyncio.TaskGroup() as tg:
            writing = tg.create_task(writer.run())
            beating = tg.create_task(heartbeat())
            senders = [tg.create_task(producer())]
            senders += [tg.create_task(worker()) for _ in range(n_workers)]
            await asyncio.wait(senders)
            writer.close()
            await writing
            beating.cancel()
    except BaseExceptionGroup as group:
        raise _first_error(group) from None
    finally:
        await _last_writes(writer, queue)


async def _last_writes(
    writer: OutcomeWriter, queue: asyncio.Queue[tuple[Plan, Claim] | None]
) -> None:
    """After a failure: release the claims never sent, write what the workers got. If the
    ledger still fails, those rows stay `submitting` and a later run reconciles them."""
    while not queue.empty():
        item = queue.get_nowait()
        if item is not None:
            writer.release(item[1])
    if writer.outcomes or writer.releases:
        with contextlib.suppress(Exception):
            await writer.flush()
        if writer.outcomes or writer.releases:
            log.error(
                "could not write %d outcome(s): those purchases stay in doubt and are "
                "reconciled by the next run",
                len(writer.outcomes) + len(writer.releases),
            )


def _first_error(group: BaseExceptionGroup) -> BaseException:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first_error(exc)
        if not isinstance(exc, asyncio.CancelledError):
            return exc
    return group.exceptions[0]
