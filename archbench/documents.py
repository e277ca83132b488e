"""Document folders, loaded for judging: metadata, readings and claims (`harness.claims.load`), and models.

A document folder holds `document.toml`, `readings.toml`, `claims*.toml` and `models/`: each model is an archbench
model file (`models/<name>.toml`, `archs.modelfile`) or a Hugging Face config (`models/<name>.json`, or
`models/<name>/config.json`), named by its file. Loading documents installs the generic quantities
(`archs.quantities`) into the claims' expression evaluator over these models: a claim's expression names a model
of its document (`params('mixtral-8x7b', 'active')`), or any preset (`archbench list`); a document's model of the
same name as a preset is the one used. Two loaded documents may not give one model name two different configs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from archs import get_config
from archs.modelfile import MODEL_SUFFIXES, load_model
from archs.quantities import Quantities
from harness.claims.expr import install_namespace
from harness.claims.load import Document, load_document, read_document
from harness.errors import ArchbenchError

MODELS_DIR = "models"
HF_CONFIG = "config.json"


def model_files(folder: Path) -> dict[str, Path]:
    """Model name -> file, for a document's models folder (none when it has no such folder)."""
    models = folder / MODELS_DIR
    found: dict[str, Path] = {}
    if not models.is_dir():
        return found
    for path in sorted(models.iterdir()):
        if path.is_dir() and (path / HF_CONFIG).is_file():
            name, file = path.name, path / HF_CONFIG
        elif path.is_file() and path.suffix in MODEL_SUFFIXES:
            name, file = path.stem, path
        else:
            continue
        if name in found:
            raise ArchbenchError(f"{models}: two files define model {name!r} ({found[name].name}, {file.name})")
        found[name] = file
    return found


class ModelTable:
    """Model names the documents' claims may use: every loaded document's models, then the presets."""

    def __init__(self) -> None:
        self.models: dict[str, tuple[Any, Path]] = {}

    def add(self, name: str, path: Path) -> None:
        cfg = load_model(path)
        if name in self.models and self.models[name][0] != cfg:
            raise ArchbenchError(f"{path}: model {name!r} is also defined, differently, by {self.models[name][1]}")
        self.models.setdefault(name, (cfg, path))

    def resolve(self, name: str) -> Any:
        if name in self.models:
            return self.models[name][0]
        try:
            return get_config(name)
        except ArchbenchError:
            raise ArchbenchError(f"model {name!r} is neither a model of the loaded documents "
                                 f"({', '.join(self.models) or 'none'}) nor a preset (archbench list)") from None


def load_documents(folders: Iterable[Path | str]) -> list[Document]:
    """The documents of `folders` with their claims, after installing the quantities over their models.
    Raises ArchbenchError (one line, naming the file) for a bad folder, model or claim, or a document id or claim
    id given twice."""
    documents = [read_document(Path(folder)) for folder in folders]
    ids: dict[str, Path] = {}
    table = ModelTable()
    for document in documents:
        if document.id in ids:
            raise ArchbenchError(f"{document.folder}: document id {document.id!r} is also {ids[document.id]}'s")
        ids[document.id] = document.folder
        for name, path in model_files(document.folder).items():
            table.add(name, path)
    install_models(table)
    seen: dict[str, str] = {}
    return [load_document(document, seen) for document in documents]


def install_models(table: ModelTable | None = None) -> None:
    """Let claims' expressions ask the quantities of `table`'s models and of the presets (presets only: None)."""
    install_namespace(Quantities((table or ModelTable()).resolve).namespace())


def document_folders(root: Path) -> list[Path]:
    """Every document folder directly under `root`, by name."""
    return sorted(p for p in Path(root).iterdir() if (p / "document.toml").is_file()) if Path(root).is_dir() else []
