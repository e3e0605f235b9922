"""Importing and exporting the network's files: rows are matched by their natural key (zone +
prefix; zone + weekday + start + vehicle; carrier + external_id), so importing the same file
twice changes nothing. A file with any bad row writes nothing (FileRejected lists every one);
the caller commits, or rolls back after a dry run.

The package's parts: `result` (what an import did), `zones`, `slots` and `points` (each kind in
and out), and `by_kind` (one file by its kind: `import_file`, `export`).
"""

from portal.services.network.imports.by_kind import (
    EXPORTERS,
    export,
    group_affected,
    import_file,
)
from portal.services.network.imports.points import (
    CLOSED_MISSING,
    ZoneIndex,
    export_pickup_points,
    import_pickup_points,
    point_row,
)
from portal.services.network.imports.result import ImportResult
from portal.services.network.imports.slots import (
    apply_template,
    export_slot_templates,
    import_slot_templates,
    remove_template,
)
from portal.services.network.imports.zones import export_zones, import_zones

__all__ = [
    "CLOSED_MISSING",
    "EXPORTERS",
    "ImportResult",
    "ZoneIndex",
    "apply_template",
    "export",
    "export_pickup_points",
    "export_slot_templates",
    "export_zones",
    "group_affected",
    "import_file",
    "import_pickup_points",
    "import_slot_templates",
    "import_zones",
    "point_row",
    "remove_template",
]
