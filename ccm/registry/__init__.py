"""The registry: ccm's persistent record of every pipeline it has registered.

The registry is ``pipelines.json`` in the state directory, a JSON object of pipeline records
keyed by ``pipeline_id``. Records of torn-down pipelines stay, with ``deleted_at`` set, so ids are
never reused. Next to it live ``pipelines.lock``, which writers hold for their whole
read-modify-write, and ``backups/``, the previous versions of the file, newest by name. An invalid
file is never read as an empty registry: it is copied aside and the newest valid backup replaces
it, or loading raises ``RegistryCorruptError``.
"""

from ccm.registry.data import REGISTRY_VERSION, RegistryData
from ccm.registry.errors import RegistryCorruptError, RegistryError, RegistryLockTimeout
from ccm.registry.store import Registry

__all__ = [
    "REGISTRY_VERSION",
    "Registry",
    "RegistryCorruptError",
    "RegistryData",
    "RegistryError",
    "RegistryLockTimeout",
]
