"""Import: an Axolotl config a user already has -> wizard answers (`new --from`, `presets save
--from`). Reads the config as Axolotl would (`importer.source`), maps every key it can to an
answer that renders it back exactly (`importer.settle`), and keeps the rest as raw keys.

Entry point: `import_config(path, cwd=..., run_dir=...) -> Imported`.
"""

from __future__ import annotations

from wizard.importer.config import Imported, import_config

__all__ = ["Imported", "import_config"]
