"""Rotating the keys of the encrypted columns (DOMAIN-RULES §7.2): the security administrator's command.

`field_keys_rotate` walks every column declared with `core.crypto.register_encrypted`, re-encrypts what an
older key sealed with the current (first) key of DANGJIAN_FIELD_KEYS, and with `rehash` recomputes the
lookup digests (after DANGJIAN_LOOKUP_KEY changed or 国密 mode was switched on). Batches are keyset-paged and
each commits on its own, so a rotation of a city's roster can be interrupted and simply run again: rows
already done are skipped. When it reports nothing left under old keys, the old keys can be removed.
"""

from __future__ import annotations

from collections import Counter

from django.db import transaction

from dangjian.audit.services import log_action
from dangjian.core import crypto

BATCH = 2000


def field_keys_rotate(*, actor, rehash: bool = False, batch: int = BATCH, dry_run: bool = False) -> Counter:
    """Returns counts: "<model>.<column>" → rows re-encrypted (and "...digest" → digests recomputed)."""
    current = crypto.current_key().key_id
    done: Counter = Counter()
    for field in crypto.encrypted_fields():
        manager = field.model._base_manager
        columns = ["pk", field.column] + ([field.digest] if field.digest else [])
        last = 0
        while True:
            rows = list(manager.filter(pk__gt=last).exclude(**{field.column: ""}).order_by("pk")
                        .values_list(*columns)[:batch])
            if not rows:
                break
            last = rows[-1][0]
            changed = _rotate_rows(field, rows, current, rehash, done)
            if changed and not dry_run:
                with transaction.atomic():
                    manager.bulk_update(changed, [field.column] + ([field.digest] if field.digest else []))
    if not dry_run:
        with transaction.atomic():
            log_action(actor=actor, action="accounts.keys.rotated",
                       changes={"key": current, "rehash": rehash, "counts": dict(done)})
    return done


def _rotate_rows(field, rows, current: str, rehash: bool, done: Counter) -> list:
    label = f"{field.model._meta.label_lower}.{field.column}"
    changed = []
    for pk, token, *digest in rows:
        stale_key = crypto.key_id_of(token) != current
        if not stale_key and not rehash:
            continue
        plain = crypto.decrypt(token)
        obj = field.model(pk=pk)
        setattr(obj, field.column, crypto.encrypt(plain) if stale_key else token)
        if field.digest:
            new_digest = crypto.lookup_digest(plain)
            setattr(obj, field.digest, new_digest)
            if new_digest != digest[0]:
                done[f"{label}.digest"] += 1
        if stale_key:
            done[label] += 1
        changed.append(obj)
    return changed


def rows_under_old_keys() -> Counter:
    """What still needs the old keys (the command's --check): 0 everywhere means they can be retired."""
    current = crypto.current_key().key_id
    left: Counter = Counter()
    for field in crypto.encrypted_fields():
        label = f"{field.model._meta.label_lower}.{field.column}"
        qs = field.model._base_manager.exclude(**{field.column: ""}).exclude(**{f"{field.column}__startswith": f"{current}:"})
        left[label] = qs.count()
    return left
