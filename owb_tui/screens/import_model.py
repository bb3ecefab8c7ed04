"""Import Model: a path, then the input configuration, prefilled from the
model itself as soon as the path is entered (read in a thread)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from engine.norm_presets import NORM_PRESETS
from engine.choices import COLORS, PAD_POSITIONS, RESIZE_MODES, TASKS
from engine.records import Model

from engine.errors import BadInput

from ..text import error_text
from ..widgets.path_input import path_field
from .forms import ImportForm, floats, ints, joined, number, row


def read_defaults(path: str) -> dict:
    """The model's tensors and the configuration owb would guess for it."""
    from engine.model_facts import model_facts
    from engine.models import default_config, read_source

    model, fmt = read_source(Path(path).expanduser())
    facts = model_facts(model)
    return {"format": fmt, "facts": facts, "config": default_config(facts["inputs"], facts["outputs"])}


def tensors_text(facts: dict) -> str:
    def one(t: dict) -> str:
        return f"{t['name']} {'x'.join(str(d) if d >= 0 else '?' for d in t['shape'])} {t['type']}"

    ins = ", ".join(one(t) for t in facts["inputs"][:2])
    outs = ", ".join(one(t) for t in facts["outputs"][:2])
    more = " …" if len(facts["outputs"]) > 2 else ""
    return f"in: {ins}\nout: {outs}{more}  ({facts['params']:,} params, {facts['precision']})"


class ImportModelScreen(ImportForm):
    HELP_TITLE = "Import model"
    BINDINGS = [Binding("escape", "cancel", "cancel", id="import-cancel")]
    STATUS = "#facts"
    KIND = "model"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form", id="import-model"):
            yield Label("Import model", classes="dialog-title")
            with Horizontal(classes="form-row"):
                yield Label("path", classes="field-label")
                yield from path_field("path", "model file (.xml .onnx .tflite .pdmodel .pb) or SavedModel folder")
            yield row(("name", Input(placeholder="default: file name", id="name", compact=True)),
                      ("task", Select([("auto (from outputs)", ""), *[(t, t) for t in TASKS]], value="",
                                      allow_blank=False, id="task", compact=True)))
            yield row(("shape", Input(placeholder="1,3,H,W", id="shape", compact=True)),
                      ("layout", Input(placeholder="auto", id="layout", compact=True)),
                      ("input", Input(placeholder="auto", id="image-input", compact=True)))
            yield row(("colour", Select([(c, c) for c in COLORS], value="RGB", allow_blank=False, id="color",
                                        compact=True)),
                      ("resize", Select([(r, r) for r in RESIZE_MODES], value="stretch", allow_blank=False,
                                        id="resize", compact=True)),
                      ("norm", Select([("numbers", ""), *[(n, n) for n in NORM_PRESETS]], value="",
                                      allow_blank=False, id="norm", compact=True)))
            yield row(("crop", Input("0.875", id="crop-fraction", type="number", compact=True)),
                      ("pad at", Select([(p, p) for p in PAD_POSITIONS], value="center", allow_blank=False,
                                        id="pad-position", compact=True)),
                      ("pad value", Input("0", id="pad-value", type="integer", compact=True)))
            yield row(("mean", Input("0,0,0", id="mean", compact=True)),
                      ("scale", Input("1,1,1", id="scale", compact=True)))
            with Horizontal(classes="form-row"):
                yield Label("labels", classes="field-label")
                yield from path_field("labels", "optional: names file")
                yield Label("cut at", classes="field-label")
                yield Input(placeholder="optional: output tensors", id="outputs", compact=True)
            yield Static("Enter a path: the fields fill in from the model. Enter in a field imports.",
                         id="facts", classes="hint", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Import", id="import", variant="primary")
                yield Button("Cancel", id="cancel")

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    # -- defaults from the model --------------------------------------------
    @on(Input.Submitted, "#path")
    @on(Input.Blurred, "#path")
    def _path_entered(self) -> None:
        path = self._new_path()
        if path is None:
            return
        self._say(f"reading {path} …")
        self._read(lambda: read_defaults(path), path, "defaults")

    def _fill(self, found: dict) -> None:
        cfg = found["config"]
        self.query_one("#task", Select).value = cfg.task
        self.query_one("#shape", Input).value = joined(cfg.shape)
        self.query_one("#layout", Input).value = cfg.layout
        self.query_one("#color", Select).value = cfg.color
        self.query_one("#resize", Select).value = cfg.resize
        self.query_one("#norm", Select).value = ""
        self.query_one("#mean", Input).value = joined(cfg.mean)
        self.query_one("#scale", Input).value = joined(cfg.scale)
        dynamic = cfg.shape is None
        note = "\ninput shape is dynamic: set a static shape above" if dynamic else ""
        self._say(f"{found['format']}: {tensors_text(found['facts'])}{note}")

    @on(Select.Changed, "#norm")
    @on(Select.Changed, "#color")
    def _norm_changed(self) -> None:
        """A preset shows its numbers in the mean and scale fields, in the colour order chosen."""
        from engine.norm_presets import preset_values

        norm, color = str(self.query_one("#norm", Select).value), self.query_one("#color", Select)
        if not norm:
            return
        if norm == "caffe" and color.value == "RGB":
            color.value = "BGR"  # caffe models read BGR; its Changed comes back here
            return
        channels = 1 if color.value == "GRAY" else 3
        mean, scale = preset_values(norm, str(color.value), channels)
        self.query_one("#mean", Input).value = joined(mean)
        self.query_one("#scale", Input).value = joined(scale)

    # -- import --------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        value = lambda i: self.query_one(i, Input).value.strip()  # noqa: E731
        pad = value("#pad-value")
        if pad and not pad.isdigit():
            raise BadInput(f"pad value must be a whole number 0..255; got {pad!r}")
        return {
            "task": str(self.query_one("#task", Select).value) or None,
            "shape": ints(value("#shape"), "shape"),
            "layout": value("#layout") or None,
            "color": str(self.query_one("#color", Select).value),
            "resize": str(self.query_one("#resize", Select).value),
            "crop_fraction": number(value("#crop-fraction"), "crop fraction", 0.875),
            "pad_position": str(self.query_one("#pad-position", Select).value),
            "pad_value": int(pad) if pad else 0,
            "norm": str(self.query_one("#norm", Select).value) or None,
            "mean": floats(value("#mean"), "mean"),
            "scale": floats(value("#scale"), "scale"),
        }

    @on(Button.Pressed, "#import")
    @on(Input.Submitted, "#name, #shape, #layout, #mean, #scale, #labels, #crop-fraction, #pad-value, "
                         "#image-input, #outputs")
    def _import(self) -> None:
        path = self._required_path()
        if path is None:
            return
        try:
            config = self.config()
        except BadInput as exc:
            self.app.notify(error_text(exc), severity="error")
            return
        name = self.query_one("#name", Input).value.strip() or None
        labels = self.query_one("#labels", Input).value.strip() or None
        image_input = self.query_one("#image-input", Input).value.strip() or None
        outputs = [n.strip() for n in self.query_one("#outputs", Input).value.split(",") if n.strip()] or None
        ws = self.app.ws

        def work() -> Model:
            from engine.models import import_model

            return import_model(ws, path, name=name, labels_file=labels, image_input=image_input, outputs=outputs,
                                **config)

        self._run_import(work, f"importing {path} …")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group not in ("defaults", "import"):
            return
        event.stop()  # handled here; the App would notify a second time
        if worker.group == "defaults":
            if not self._still_wanted(worker):
                return
            if event.state == WorkerState.SUCCESS:
                self._fill(worker.result)
            elif event.state == WorkerState.ERROR:
                self._read_path = ""
                self._say(error_text(worker.error), error=True)
        elif event.state == WorkerState.SUCCESS:
            model: Model = worker.result
            self.app.notify(f"imported model {model.name} ({model.precision}, {model.config.task})")
            self.dismiss(model)
        elif event.state == WorkerState.ERROR:
            self.query_one("#import", Button).disabled = False
            self._say(error_text(worker.error), error=True)
            self.app.show_error(worker.error)
