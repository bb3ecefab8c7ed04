"""A project archive once extracted: the manifest read and every claim in it
checked before anything reaches the workspace (engine.portable writes and
imports these archives).

Checks: the format and schema; each record well typed with a safe id; every
listed file present, inside the folder of a record of the archive, and of
the listed size and SHA-256; nothing present that is not listed; every
record's own files listed (a model's IR, a report's tables, a dataset's
index); and every project, result and report tied to a model of the archive."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import BadInput
from .record_schema import problem
from .records import Dataset, InferenceResult, Model, Project, Record, Report
from .terminal_text import printable
from .workspace import SCHEMA_VERSION

ARCHIVE_FORMAT = "owb-project"
ARCHIVE_SCHEMA = 1
MANIFEST = "manifest.json"
KINDS: dict[str, type[Record]] = {"models": Model, "projects": Project, "inferences": InferenceResult,
                                  "reports": Report, "datasets": Dataset}
FOLDERS = ("models", "reports", "datasets")  # record kinds that own <home>/<kind>/<id>/
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass
class Bundle:
    """A verified archive: records by kind, extracted under ``root``/files."""

    root: Path
    with_datasets: bool
    records: dict[str, list[Any]]
    fingerprints: dict[str, str | None]
    files: set[str]


def bad(src: Path, why: str) -> BadInput:
    return BadInput(f"{src.name} is not a usable owb project archive: {why}")


def sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()


def _normal(rel: Any) -> bool:
    """A relative '/' path with no '..', '.', '//' or absolute start."""
    from .datasets.archive import member_path

    try:
        return isinstance(rel, str) and member_path(rel) == rel
    except BadInput:
        return False


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else None


def well_typed(record: Record) -> bool:
    """Every field has its default's type (numbers interchangeable, None
    where the default is None), nested configurations included: hostile
    manifests must fail here, not as a TypeError halfway through an import."""
    for f in dataclasses.fields(record):
        value, default = getattr(record, f.name), _default(f)
        if default is None:
            ok = value is None or isinstance(value, (str, int, float, list))
        elif isinstance(default, Record):
            ok = isinstance(value, type(default)) and well_typed(value)
        elif isinstance(default, (int, float)) and not isinstance(default, bool):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            ok = isinstance(value, type(default))
        if not ok:
            return False
    return True


def read_bundle(src: Path, root: Path) -> Bundle:
    """Check an extracted archive against its manifest; BadInput on any mismatch."""
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise bad(src, f"it has no {MANIFEST}") from None
    except (OSError, ValueError) as exc:
        raise bad(src, f"its {MANIFEST} does not parse ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
        raise bad(src, f"its manifest is not an {ARCHIVE_FORMAT} manifest")
    schema, ws_schema = manifest.get("schema"), manifest.get("workspace_schema", 0)
    if not isinstance(schema, int) or not isinstance(ws_schema, int):
        raise bad(src, "its manifest has no schema version")
    if schema > ARCHIVE_SCHEMA or ws_schema > SCHEMA_VERSION:
        raise BadInput(f"{src.name} was written by a newer owb (archive schema {schema}); upgrade owb to import it")
    records: dict[str, list[Any]] = {}
    fingerprints: dict[str, str | None] = {}
    for kind, cls in KINDS.items():
        docs = manifest.get(kind, [])
        if not isinstance(docs, list) or not all(isinstance(d, dict) for d in docs):
            raise bad(src, f"its manifest's {kind} is not a list of records")
        try:
            records[kind] = [cls.from_dict(d) for d in docs]
        except TypeError as exc:
            raise bad(src, f"a record in {kind} is malformed ({exc})") from None
        seen: set[str] = set()
        for r in records[kind]:
            if not well_typed(r):
                raise bad(src, f"a record in {kind} has fields of the wrong type")
            why = problem(r)
            if why is not None:
                raise bad(src, f"{kind} record {printable(r.id)[:20]!r}: {why}")
            if not _ID.match(r.id) or r.id in seen:
                raise bad(src, f"{kind} record id {r.id!r} is invalid or repeated")
            seen.add(r.id)
        if kind == "datasets":
            fingerprints = {d.get("id"): d.get("fingerprint") for d in docs}
    listed = manifest.get("files", {})
    if not isinstance(listed, dict):
        raise bad(src, "its manifest's files is not a table")
    owners = {kind: {r.id for r in records[kind]} for kind in FOLDERS}
    for rel, meta in listed.items():
        parts = rel.split("/")
        if not _normal(rel) or len(parts) < 3 or parts[0] not in owners or parts[1] not in owners[parts[0]]:
            raise bad(src, f"file {rel!r} belongs to no record in the manifest")
        path = root / "files" / rel
        if not isinstance(meta, dict) or not path.is_file() or path.is_symlink():
            raise bad(src, f"file {rel!r} named in the manifest is missing")
        if path.stat().st_size != meta.get("size") or sha256(path) != meta.get("sha256"):
            raise bad(src, f"file {rel!r} does not match the manifest's size and SHA-256 (damaged or altered)")
    present = {p.relative_to(root / "files").as_posix() for p in (root / "files").rglob("*") if p.is_file()}
    extra = sorted(present - set(listed)) + sorted(p.name for p in root.iterdir() if p.name not in (MANIFEST, "files"))
    if extra:
        raise bad(src, f"{extra[0]!r} is in the archive but not in its manifest")
    bundle = Bundle(root, bool(manifest.get("with_datasets")), records, fingerprints, set(listed))
    _check_references(src, bundle)
    return bundle


def _check_references(src: Path, b: Bundle) -> None:
    r = b.records
    model_ids = {m.id for m in r["models"]}
    for m in r["models"]:
        xml = Path(str(m.path)).name
        if not xml.endswith(".xml"):
            raise bad(src, f"model {m.name!r} has no IR .xml path")
        for name in (xml, xml[:-4] + ".bin"):
            if f"models/{m.id}/{name}" not in b.files:
                raise bad(src, f"model {m.name!r} needs models/{m.id}/{name}, which the manifest does not list")
    for kind in ("projects", "inferences", "reports"):
        for x in r[kind]:
            if x.model not in model_ids:
                raise bad(src, f"{kind[:-1]} {x.id} refers to model {x.model!r}, which the archive lacks")
    for rep in r["reports"]:
        tables = rep.summary.get("tables")
        if not isinstance(tables, dict) or not tables:
            raise bad(src, f"report {rep.name!r} lists no tables")
        for mode in tables:
            if f"reports/{rep.id}/{mode}.npz" not in b.files:
                raise bad(src, f"report {rep.name!r} needs reports/{rep.id}/{mode}.npz, which the manifest does not list")
    if b.with_datasets:
        for d in r["datasets"]:
            prefix = f"datasets/{d.id}/"
            if not (_normal(d.path) and _normal(d.index) and d.path.startswith(prefix) and d.index.startswith(prefix) and d.index in b.files):
                raise bad(src, f"dataset {d.name!r} has no index file under {prefix}")
