"""Issue 18's defects (hardening, round two) as bad-input cases: each found
case and at least one variant of it, all refused with exit 2 and one
`error:` line, the workspace untouched. ``{ws}`` in an argv is the shared
workspace, ``{src}`` the corpus. Items 5 and 6 (retry after a kill, job
liveness) belong to the detached-jobs issue and are tested there; items whose
fix is a behaviour rather than a refusal (9 CSV quoting, 15 file mode, 16 two
static inputs, 17 stale temp files, a COCO box of 1e299 drawn, the numpy
warning) are in test_hardening.py beside this."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

from fixtures_datasets import image_bytes

ESC_NAME = "\x1b]0;pwned\x07\x1b[2J"
LINK_NAME = "[link=file:///etc/passwd]click[/link]"
WS_SUBFOLDERS = ("models", "datasets", "outputs", "reports", "jobs", "tmp")


def hardening_cases(case) -> list:
    """``case(group, name, mention, *argv)`` builds a Case (cases._case)."""
    c = case
    report = ("report", "good", "--dataset", "good")
    visualize = ("visualize", "good", "--dataset", "good", "--image", "0.jpg")
    calibrate = ("calibrate", "good", "--dataset", "good", "--bench-time", "0")
    return [
        # 1: data loss through an output path
        c("hardening", "i01-report-csv-onto-workspace-db", "inside the workspace", *report, "--csv", "{ws}/owb.json"),
        c("hardening", "i01-report-csv-onto-db-with-force-via-dotdot", "inside the workspace", *report,
          "--csv", "{ws}/models/../owb.json", "--force"),
        c("hardening", "i01-report-csv-existing-file", "already exists", *report, "--csv", "{src}/existing/rows.csv"),
        c("hardening", "i01-visualize-out-into-workspace", "inside the workspace", *visualize,
          "--out", "{ws}/models/picture.png"),
        c("hardening", "i01-visualize-out-existing-file", "already exists", *visualize,
          "--out", "{src}/existing/picture.png"),
        c("hardening", "i01-export-out-existing-file", "already exists", "export", "good",
          "--out", "{src}/existing/pkg.tar.gz"),
        c("hardening", "i01-export-out-onto-db-with-force", "inside the workspace", "export", "good",
          "--out", "{ws}/owb.json", "--force"),
        c("hardening", "i01-project-export-onto-db", "inside the workspace", "project", "export", "good",
          "--out", "{ws}/owb.json", "--force"),
        # 2: datasets that would bloat the workspace for good
        c("hardening", "i02-val-label-two-billion", "limit of classes numbered", "dataset", "import", "{src}/bloat/two_billion"),
        c("hardening", "i02-val-label-three-million", "limit of classes numbered", "dataset", "import", "{src}/bloat/three_million"),
        c("hardening", "i02-val-line-of-megabytes", "no '<file> <label>' lines", "dataset", "import",
          "{src}/bloat/long_line"),
        c("hardening", "i02-labels-txt-over-class-limit", "over owb's limit", "dataset", "import",
          "{src}/bloat/many_labels"),
        c("hardening", "i02-dataset-remove-unknown", "no dataset named", "dataset", "remove", "nope"),
        # 3: escape sequences from names reach the terminal
        c("hardening", "i03-esc-in-a-looked-up-name", "\\x1b]0;pwned\\x07", "model", "show", ESC_NAME),
        c("hardening", "i03-esc-in-a-dataset-folder-name", "\\x1b[2j", "dataset", "import", f"{{src}}/names/{ESC_NAME}"),
        c("hardening", "i03-link-markup-in-a-name", LINK_NAME, "dataset", "show", LINK_NAME),
        # 4: markup in a name
        c("hardening", "i04-markup-close-tag-name", "'evil[/]'", "model", "show", "evil[/]"),
        c("hardening", "i04-markup-style-name-in-accuracy", "[red]x[/red]", "accuracy", "[red]x[/red]",
          "--dataset", "good"),
        # 7: a name clash is found before any work
        c("hardening", "i07-calibrate-name-taken", "already exists", *calibrate, "--name", "seg-as-cls"),
        c("hardening", "i07-dataset-import-name-taken", "already exists", "dataset", "import", "{src}/images/mixed",
          "--name", "good"),
        c("hardening", "i07-model-import-name-taken", "already exists", "model", "import", "{src}/models/good.onnx",
          "--name", "good"),
        # 8: project bundles checked field by field
        c("hardening", "i08-bundle-inputs-not-ports", "inputs", "project", "import", "{src}/bundles/inputs.owb"),
        c("hardening", "i08-bundle-shape-not-integers", "config.shape", "project", "import", "{src}/bundles/shape.owb"),
        c("hardening", "i08-bundle-string-throughput", "throughput_fps", "project", "import",
          "{src}/bundles/result.owb"),
        c("hardening", "i08-bundle-nan-mean", "config.mean", "project", "import", "{src}/bundles/mean.owb"),
        # 10: an empty --home
        c("hardening", "i10-home-empty", "--home is empty", "model", "list", "--home", ""),
        c("hardening", "i10-home-blank", "--home is empty", "dataset", "list", "--home", "  "),
        # 11: non-finite numbers
        c("hardening", "i11-fail-on-drop-nan", "finite", *calibrate, "--fail-on-drop", "nan"),
        c("hardening", "i11-bench-time-nan", "finite", "calibrate", "good", "--dataset", "good", "--bench-time", "nan"),
        c("hardening", "i11-configure-mean-nan", "finite", "model", "configure", "good", "--mean", "nan"),
        c("hardening", "i11-configure-scale-inf", "finite", "model", "configure", "good", "--scale", "1,inf,1"),
        c("hardening", "i11-benchmark-time-inf", "finite", "benchmark", "good", "--time", "inf"),
        c("hardening", "i11-report-conf-threshold-nan", "finite", *report, "--conf-threshold", "nan"),
        # 12: unbounded resources
        c("hardening", "i12-benchmark-batch-100000", "--batch", "benchmark", "good", "--batch", "100000"),
        c("hardening", "i12-benchmark-requests-million", "--requests", "benchmark", "good", "--requests", "1000000"),
        c("hardening", "i12-benchmark-time-1e308", "--time", "benchmark", "good", "--time", "1e308"),
        c("hardening", "i12-layers-runs-1e12", "--runs", "layers", "good", "--runs", "1000000000000"),
        c("hardening", "i12-explore-batches-100000", "--batches", "explore", "good", "--batches", "1,100000"),
        c("hardening", "i12-labels-dev-zero", "not a regular file", "model", "configure", "good",
          "--labels", "/dev/zero"),
        c("hardening", "i12-xml-symlinked-to-dev-zero", "not a regular file", "model", "import",
          "{src}/hostile/zero.xml"),
        c("hardening", "i12-fifo-named-onnx", "a pipe", "model", "import", "{src}/hostile/fifo.onnx"),
        c("hardening", "i12-fifo-named-zip", "a pipe", "dataset", "import", "{src}/hostile/fifo.zip"),
        c("hardening", "i12-tar-gz-symlinked-to-dev-zero", "not a regular file", "dataset", "import",
          "{src}/hostile/zero.tar.gz"),
        # 13: a shape too big to allocate
        c("hardening", "i13-configure-shape-huge", "elements", "model", "configure", "good",
          "--shape", "1,3,100000,100000"),
        c("hardening", "i13-import-shape-huge", "elements", "model", "import", "{src}/models/good.onnx",
          "--shape", "1,3,100000,100000"),
        # 14: the machine's errors in one line
        c("hardening", "i14-db-is-a-folder", "is a folder", "model", "list", "--home", "{src}/ws_db_folder"),
        c("hardening", "i14-lock-is-a-folder", "lock file", "dataset", "list", "--home", "{src}/ws_lock_folder"),
        c("hardening", "i14-bad-ignore-patterns-regex", "not a regular expression", *calibrate,
          "--ignore-patterns", "conv(["),
        c("hardening", "i14-folder-nested-1100-deep", "nested too deeply", "dataset", "import", "{src}/../deep"),
        # 18: messages
        c("hardening", "i18-job-hint-names-owb-jobs", "`owb jobs`", "jobs", "log", "nope"),
        c("hardening", "i18-zip-named-tar-gz-is-read-as-zip", "no files", "dataset", "import",
          "{src}/hostile/empty_zip.tar.gz"),
        c("hardening", "i18-text-named-tar-gz", "not a zip or tar", "dataset", "import", "{src}/hostile/text.tar.gz"),
    ]


def build_hardening(src: Path, good_onnx: Path) -> None:
    images = {f"{i}.jpg": image_bytes(i) for i in range(3)}
    _write(src / "existing", {"rows.csv": "kept\n", "picture.png": "kept", "pkg.tar.gz": "kept"})
    bloat = src / "bloat"
    _write(bloat / "two_billion", {**images, "val.txt": "0.jpg 2000000000\n1.jpg 2000000001\n"})
    _write(bloat / "three_million", {**images, "val.txt": "0.jpg 3000000\n"})
    _write(bloat / "long_line", {**images, "val.txt": "x" * 5_000_000 + ".jpg 0\n"})
    _write(bloat / "many_labels", {**images, "val.txt": "0.jpg 0\n", "labels.txt": "c\n" * 100_001})
    (src / "names" / ESC_NAME).mkdir(parents=True)
    hostile = src / "hostile"
    hostile.mkdir()
    os.symlink("/dev/zero", hostile / "zero.xml")
    os.symlink("/dev/zero", hostile / "zero.bin")
    os.mkfifo(hostile / "fifo.onnx")
    os.mkfifo(hostile / "fifo.zip")
    os.symlink("/dev/zero", hostile / "zero.tar.gz")
    import zipfile

    zipfile.ZipFile(hostile / "empty_zip.tar.gz", "w").close()
    (hostile / "text.tar.gz").write_text("not an archive at all\n")
    for name, folder in (("ws_db_folder", "owb.json"), ("ws_lock_folder", ".owb.lock")):
        for sub in WS_SUBFOLDERS:
            (src / name / sub).mkdir(parents=True)
        (src / name / folder).mkdir()
    deep = src.parent / "deep"
    deep.mkdir(exist_ok=True)
    here = os.getcwd()
    os.chdir(deep)  # relative steps, as remove_deep undoes them
    try:
        for _ in range(1100):
            os.mkdir("d")
            os.chdir("d")
    finally:
        os.chdir(here)
    _bundles(src / "bundles", good_onnx)


def remove_deep(top: Path) -> None:
    """Remove the 1100-deep folder bottom-up, by relative steps (no recursion)."""
    if not top.is_dir():
        return
    here = os.getcwd()
    os.chdir(top)
    depth = 0
    try:
        while os.path.isdir("d"):
            os.chdir("d")
            depth += 1
        for _ in range(depth):
            os.chdir("..")
            os.rmdir("d")
    finally:
        os.chdir(here)
    top.rmdir()


def _write(root: Path, files: dict[str, bytes | str]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)


def _bundles(out: Path, good_onnx: Path) -> None:
    """A real export, then its manifest altered one field at a time."""
    import tempfile

    from engine.models import import_model
    from engine.portable import export_project
    from engine.workspace import Workspace

    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        model = import_model(ws, good_onnx, name="bundled")
        export_project(ws, model.name, out / "base.owb")
        with tarfile.open(out / "base.owb") as tar:
            members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]
        manifest = json.loads(next(data for m, data in members if m.name == "manifest.json"))

        def altered(name: str, change) -> None:
            doc = json.loads(json.dumps(manifest))
            change(doc)
            with tarfile.open(out / name, "w:gz") as tar:
                for member, data in members:
                    if member.name == "manifest.json":
                        data = json.dumps(doc).encode()
                        member.size = len(data)
                    tar.addfile(member, None if data is None else io.BytesIO(data))

        model_doc = manifest["models"][0]
        altered("inputs.owb", lambda d: d["models"][0].update(inputs=[5]))
        altered("shape.owb", lambda d: d["models"][0]["config"].update(shape=["a"]))
        altered("mean.owb", lambda d: d["models"][0]["config"].update(mean=[float("nan")] * 3))
        altered("result.owb", lambda d: d.update(inferences=[{
            "name": "bench", "id": "r1", "kind": "benchmark", "project": "", "model": model_doc["id"],
            "dataset": None, "result": {"throughput_fps": "fast"}, "created": 1.0}]))
        (out / "base.owb").unlink()
