"""Named presets, one module per document family, and the registry they register into (`ARCHS`, re-exported
as `archs.ARCHS`); `shrink` derives every `-tiny` twin from its full preset. `archs/__init__.py` imports the
preset modules, so importing `archs` registers every preset."""
from harness.registry import Registry

ARCHS: Registry = Registry("architecture")
