"""Purging outside people's personal data (PIPL) once `ANBAO_VISITOR_RETENTION_DAYS` have
passed: visitors, visits, invites, visitors' vehicle entries and contractor passes.

Rows stay, so counts and times remain for reports; what named a person is wiped: names,
phones, sealed ID numbers with their hashes and masks, photos, plates, notes. The change feed
drops what it carried of them (a delete tombstone tells the phones to forget them too), stored
sync results of gate mutations lose their data, and each site gets an audit event with the
counts. People still on site, and cars still inside, are kept until they leave.

Photos are never deleted here, only the references that named them: a photo still named by a
record that is not outside people's data (an incident, a patrol scan's checklist answer: scans
are evidence and are kept) stays visible to that record's site.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from backend.http import ClientInfo
from backend.models.passes import ContractorPass
from backend.models.sync import AppliedMutation, Change, ChangeOp, MutationStatus
from backend.models.vehicles import VehicleEntry
from backend.models.visitors import Invite, Visit, Visitor, VisitStatus
from backend.services import audit
from backend.services.changes import record_changes
from backend.services.gate_sync import GATE_MUTATIONS

_JOB_INFO = ClientInfo(
    request_id="job:purge_visitors", address="", user_agent="", language="en", is_https=False
)


def _by_site(rows: Iterable[tuple[Any, int]]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for entity_id, site_id in rows:
        out[site_id].append(str(entity_id))
    return out


async def _forget(entity: str, by_site: dict[int, list[str]]) -> None:
    """Drop the entities' changes (they carry the personal data) and tell phones to drop them."""
    for site_id, ids in by_site.items():
        await Change.filter(site_id=site_id, entity=entity, entity_id__in=ids).delete()
        await record_changes(site_id, entity, [(i, ChangeOp.delete, None) for i in ids])


async def purge(now: datetime, retention: timedelta) -> dict[int, dict[str, int]]:
    """Wipe personal data older than the retention; call inside a transaction. Returns the
    counts per site (what the audit events say)."""
    cutoff = now - retention
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    visits = _by_site(
        await Visit.filter(purged_at=None, arrived_at__lt=cutoff)
        .exclude(status=VisitStatus.on_site)
        .values_list("id", "site_id")
    )
    for site_id, ids in visits.items():
        await Visit.filter(id__in=ids).update(
            plate=None, photo_sha256=None, note="", decision_note="", purged_at=now
        )
        counts[site_id]["visits"] += len(ids)
    await _forget("visit", visits)

    present = {
        str(v)
        for v in await Visit.filter(status=VisitStatus.on_site).values_list("visitor_id", flat=True)
    }
    visitors = _by_site(
        (i, s)
        for i, s in await Visitor.filter(purged_at=None, last_visit_at__lt=cutoff).values_list(
            "id", "site_id"
        )
        if str(i) not in present
    )
    for site_id, ids in visitors.items():
        await Visitor.filter(id__in=ids).update(
            name="",
            phone="",
            id_kind=None,
            id_sealed=None,
            id_index=None,
            id_masked="",
            photo_sha256=None,
            purged_at=now,
        )
        counts[site_id]["visitors"] += len(ids)

    invites = _by_site(
        await Invite.filter(purged_at=None, valid_until__lt=cutoff).values_list("id", "site_id")
    )
    for site_id, ids in invites.items():
        await Invite.filter(id__in=ids).update(
            guest_name="", guest_phone="", plate=None, note="", purged_at=now
        )
        counts[site_id]["invites"] += len(ids)
    await _forget("invite", invites)

    # Residents' registered cars are not outside people's data; visitors' are.
    entries = _by_site(
        await VehicleEntry.filter(
            purged_at=None, vehicle_id=None, exited_at__not_isnull=True, exited_at__lt=cutoff
        ).values_list("id", "site_id")
    )
    for site_id, ids in entries.items():
        await VehicleEntry.filter(id__in=ids).update(plate="", note="", purged_at=now)
        counts[site_id]["vehicle_entries"] += len(ids)
    await _forget("vehicle_entry", entries)

    contractors = _by_site(
        await ContractorPass.filter(purged_at=None, valid_until__lt=cutoff).values_list(
            "id", "site_id"
        )
    )
    for site_id, ids in contractors.items():
        await ContractorPass.filter(id__in=ids).update(
            person_name="",
            phone="",
            id_kind=None,
            id_sealed=None,
            id_index=None,
            id_masked="",
            photo_sha256=None,
            purged_at=now,
        )
        counts[site_id]["contractor_passes"] += len(ids)
    await _forget("contractor_pass", contractors)

    # A replayed old mutation then answers "duplicate" without the data it once returned.
    await AppliedMutation.filter(
        name__in=list(GATE_MUTATIONS),
        status=MutationStatus.applied,
        server_time__lt=cutoff,
        result__not_isnull=True,
    ).update(result=None)

    for site_id, site_counts in counts.items():
        await audit.record(
            None,
            _JOB_INFO,
            "visitors.purged",
            "site",
            site_id,
            site_id=site_id,
            after={"before": cutoff.isoformat(), **site_counts},
        )
    return {s: dict(c) for s, c in counts.items()}
