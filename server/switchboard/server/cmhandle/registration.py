"""A DMI plugin's `UpdateRegistration` and `Reregister` checked against the inventory, handle by
handle: what each handle's result is and what to write. Pure; the caller loads the handles named
(and, for `reregister`, every handle of the plugin) and writes the changes in one transaction.

As in NCMP, one bad handle never fails the rest; sections run in NCMP's order (removed, created,
updated, upgraded) and entries in request order, each seeing the effect of the earlier ones, so
a second create of one id finds it existing. Further rules here:
- A plugin updates, removes and upgrades only its own handles (others: CM_HANDLES_NOT_FOUND).
- Ids and alternate ids together name one handle each: an alternate id is refused
  (CM_HANDLE_ALREADY_EXIST) if it is another handle's id or alternate id, and so is a new id that
  is another handle's alternate id. An alternate id is held until its handle is DELETED.
- A DELETED handle is gone: its id may be registered again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from switchboard.server.cmhandle.model import (
    GONE,
    CmHandle,
    HandleState,
    PropertyChanges,
    Refused,
    ResultCode,
    TrustLevel,
    check_id,
    register,
    remove,
    set_alternate_id,
    set_data_sync,
    update_properties,
    upgrade,
)


@dataclass(frozen=True)
class NewHandle:
    """A handle as a plugin registers it (created, or listed when re-registering)."""

    id: str
    dmi_properties: Mapping[str, str] = field(default_factory=dict)
    public_properties: Mapping[str, str] = field(default_factory=dict)
    module_set_tag: str = ""
    alternate_id: str = ""
    """"" (or blank) for none."""
    trust: TrustLevel = TrustLevel.COMPLETE
    """The handle's own trust to start from (NCMP's registration trust level)."""
    data_sync_enabled: bool | None = None
    """NCMP's dataSyncEnabled; None: false for a new handle, unchanged when re-registered."""


@dataclass(frozen=True)
class HandleUpdate:
    """New property values (REMOVED removes one, names not given are kept) and an alternate id
    to set ("" keeps the current one)."""

    id: str
    dmi_properties: PropertyChanges = field(default_factory=dict)
    public_properties: PropertyChanges = field(default_factory=dict)
    alternate_id: str = ""
    data_sync_enabled: bool | None = None
    """NCMP's dataSyncEnabled to set; None keeps it."""


@dataclass(frozen=True)
class Upgrade:
    id: str
    module_set_tag: str


@dataclass(frozen=True)
class Batch:
    """One `UpdateRegistration` of a DMI plugin."""

    created: Sequence[NewHandle] = ()
    updated: Sequence[HandleUpdate] = ()
    removed: Sequence[str] = ()
    upgraded: Sequence[Upgrade] = ()


@dataclass(frozen=True)
class HandleResult:
    """One entry's outcome: `code` None is success."""

    id: str
    code: ResultCode | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.code is None


@dataclass(frozen=True)
class Change:
    """A handle to write: `old` None for a new one (also over a DELETED one)."""

    old: CmHandle | None
    new: CmHandle


@dataclass(frozen=True)
class Registration:
    """Results per section, one per entry in request order, and the handles to write."""

    created: tuple[HandleResult, ...]
    updated: tuple[HandleResult, ...]
    removed: tuple[HandleResult, ...]
    upgraded: tuple[HandleResult, ...]
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class Reregistration:
    """`results`, one per listed handle; the ids `created`, `updated` (taking the new
    properties), and `untrusted`: the plugin's handles not re-registered, at trust NONE."""

    results: tuple[HandleResult, ...]
    created: tuple[str, ...]
    updated: tuple[str, ...]
    untrusted: tuple[str, ...]
    changes: tuple[Change, ...]


T = TypeVar("T")


class _Working:
    """The inventory as the entries so far leave it."""

    def __init__(self, handles: Mapping[str, CmHandle], alternate_ids: Mapping[str, str]) -> None:
        self.base = handles
        self.alternate_ids = alternate_ids
        self.touched: dict[str, CmHandle] = {}
        self.claimed: dict[str, str] = {}  # alternate ids taken by this batch

    def get(self, handle_id: str) -> CmHandle | None:
        h = self.touched.get(handle_id) or self.base.get(handle_id)
        return None if h is None or h.state is HandleState.DELETED else h

    def put(self, h: CmHandle) -> None:
        self.touched[h.id] = h
        if h.alternate_id:
            self.claimed[h.alternate_id] = h.id

    def owned(self, handle_id: str, plugin: str) -> CmHandle:
        check_id(handle_id)
        h = self.get(handle_id)
        if h is None:
            raise Refused(ResultCode.CM_HANDLES_NOT_FOUND, f"no cm handle {handle_id!r}")
        if h.dmi_plugin != plugin:
            raise Refused(ResultCode.CM_HANDLES_NOT_FOUND,
                          f"cm handle {handle_id!r} is registered by another DMI plugin")
        return h

    def alternate_owner(self, alternate_id: str) -> str | None:
        """The handle whose alternate id this is, if any."""
        owner = self.claimed.get(alternate_id) or self.alternate_ids.get(alternate_id)
        if owner is None:
            return None
        h = self.touched.get(owner) or self.base.get(owner)
        if h is None or (h.state is not HandleState.DELETED and h.alternate_id == alternate_id):
            return owner  # (an owner not loaded is taken to hold it)
        return None

    def check_new_id(self, handle_id: str) -> None:
        check_id(handle_id)
        if self.get(handle_id) is not None:
            raise Refused(ResultCode.CM_HANDLE_ALREADY_EXIST, f"cm handle {handle_id!r} exists")
        owner = self.alternate_owner(handle_id)
        if owner is not None:
            raise Refused(ResultCode.CM_HANDLE_ALREADY_EXIST,
                          f"{handle_id!r} is the alternate id of cm handle {owner!r}")

    def with_alternate_id(self, h: CmHandle, alternate_id: str) -> CmHandle:
        """`h` taking `alternate_id` (blank: unchanged), if no other handle is named by it."""
        if not alternate_id.strip() or alternate_id == h.alternate_id:
            return h
        h = set_alternate_id(h, alternate_id)
        owner = self.alternate_owner(alternate_id)
        if owner is None and alternate_id != h.id and self.get(alternate_id) is not None:
            owner = alternate_id
        if owner not in (None, h.id):
            raise Refused(ResultCode.CM_HANDLE_ALREADY_EXIST,
                          f"alternate id {alternate_id!r} names cm handle {owner!r}")
        return h

    def changes(self) -> tuple[Change, ...]:
        out = []
        for handle_id, new in self.touched.items():
            old = self.base.get(handle_id)
            if old is not None and old.state is HandleState.DELETED:
                old = None
            if new != old:
                out.append(Change(old, new))
        return tuple(out)


def _each(items: Sequence[T], key: Callable[[T], str],
          apply: Callable[[T], None]) -> tuple[HandleResult, ...]:
    results = []
    for item in items:
        try:
            apply(item)
        except Refused as e:
            results.append(HandleResult(key(item), e.code, e.message))
        else:
            results.append(HandleResult(key(item)))
    return tuple(results)


def _id(item: NewHandle | HandleUpdate | Upgrade) -> str:
    return item.id


def _create(w: _Working, plugin: str, spec: NewHandle) -> None:
    w.check_new_id(spec.id)
    h = register(spec.id, plugin, dmi_properties=spec.dmi_properties,
                 public_properties=spec.public_properties, module_set_tag=spec.module_set_tag,
                 trust=spec.trust, data_sync_enabled=bool(spec.data_sync_enabled))
    w.put(w.with_alternate_id(h, spec.alternate_id))


def update_registration(
    plugin: str, batch: Batch, handles: Mapping[str, CmHandle], alternate_ids: Mapping[str, str]
) -> Registration:
    """`batch` from the DMI plugin at `plugin` against the inventory: `handles` by id and
    `alternate_ids` (alternate id → handle id), holding at least every handle the batch names by
    id or alternate id."""
    w = _Working(handles, alternate_ids)

    def update(u: HandleUpdate) -> None:
        h = update_properties(w.owned(u.id, plugin), u.dmi_properties, u.public_properties)
        if u.data_sync_enabled is not None:
            h = set_data_sync(h, u.data_sync_enabled)
        w.put(w.with_alternate_id(h, u.alternate_id))

    removed = _each(batch.removed, str, lambda i: w.put(remove(w.owned(i, plugin))))
    created = _each(batch.created, _id, lambda spec: _create(w, plugin, spec))
    updated = _each(batch.updated, _id, update)
    upgraded = _each(batch.upgraded, _id,
                     lambda u: w.put(upgrade(w.owned(u.id, plugin), u.module_set_tag)))
    return Registration(created, updated, removed, upgraded, w.changes())


def reregister(
    plugin: str,
    listed: Sequence[NewHandle],
    handles: Mapping[str, CmHandle],
    alternate_ids: Mapping[str, str],
) -> Reregistration:
    """The DMI plugin at `plugin` lists its full set of handles, after being unreachable.

    As in NCMP: new handles are created; existing ones take the listed properties (replacing
    the old ones; a new module-set tag upgrades a READY handle, or is just taken by one still
    syncing) and the listed trust (which stands until the next heartbeat: no heartbeat is
    overdue) and data sync; the plugin's live handles not re-registered get trust NONE.
    A handle listed twice, or registered by another plugin, is CM_HANDLE_ALREADY_EXIST.
    `handles` holds at least every handle of the plugin and every one `listed` names."""
    w = _Working(handles, alternate_ids)
    seen: set[str] = set()
    created: list[str] = []
    updated: list[str] = []

    def relist(spec: NewHandle) -> None:
        check_id(spec.id)
        if spec.id in seen:
            raise Refused(ResultCode.CM_HANDLE_ALREADY_EXIST, f"cm handle {spec.id!r} listed twice")
        seen.add(spec.id)
        h = w.get(spec.id)
        if h is None:
            _create(w, plugin, spec)
            created.append(spec.id)
            return
        if h.dmi_plugin != plugin:
            raise Refused(ResultCode.CM_HANDLE_ALREADY_EXIST,
                          f"cm handle {spec.id!r} is registered by another DMI plugin")
        if h.state is HandleState.DELETING:
            raise Refused(ResultCode.CM_HANDLE_ALREADY_EXIST,
                          f"cm handle {spec.id!r} is being deleted")
        h = replace(h, dmi_properties=dict(spec.dmi_properties),
                    public_properties=dict(spec.public_properties), trust=spec.trust,
                    heartbeat_at=None)
        if spec.data_sync_enabled is not None:
            h = set_data_sync(h, spec.data_sync_enabled)
        if spec.module_set_tag != h.module_set_tag:
            h = (upgrade(h, spec.module_set_tag) if h.state is HandleState.READY
                 else replace(h, module_set_tag=spec.module_set_tag))
        w.put(w.with_alternate_id(h, spec.alternate_id))
        updated.append(spec.id)

    results = _each(listed, _id, relist)
    done = {*created, *updated}
    untrusted = sorted(
        h.id for h in handles.values()
        if h.dmi_plugin == plugin and h.state not in GONE and h.id not in done
    )
    for handle_id in untrusted:
        w.put(replace(handles[handle_id], trust=TrustLevel.NONE))
    return Reregistration(results, tuple(created), tuple(updated), tuple(untrusted), w.changes())
