"""What an import did (created, updated, unchanged, closed), and how a row's values are set on
what is already stored, so that importing the same file twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from portal.services.network import closures


@dataclass
class ImportResult:
    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    closed: int = 0
    dry_run: bool = False
    # Parcels whose booking a closure takes (or, on a dry run, would take) away.
    affected: list[closures.Affected] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "closed": self.closed,
        }

    def __str__(self) -> str:
        head = "would be " if self.dry_run else ""
        parts = ", ".join(f"{v} {head}{k}" for k, v in self.counts().items())
        return f"{self.kind}: {parts}"


def set_changed(obj, values: dict) -> bool:
    """Set `values` on `obj`; True when any differed."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed
