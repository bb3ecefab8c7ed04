"""Visualize: one report row's dataset image with the predictions drawn on it.

The picture is engine.visualize.render's, the same one `owb visualize` saves:
parent (orange) and optimized (blue) for predictions and tensor-distance
reports, the model and the annotation (green) for accuracy reports. It is
drawn in a thread, since render runs the models when a report's raw outputs
are not stored; the caption above it says in words what the terminal's
coarse pixels cannot."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

from PIL import Image
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, Static
from textual.worker import get_current_worker

from engine.choices import CONF_THRESHOLD
from engine.errors import BadInput, OwbError
from engine.output import free_path, output_path
from engine.records import Dataset, Model, Report
from engine.terminal_text import printable
from engine.visualize import save_picture

from ..text import error_text
from ..widgets.footer import KeyFooter
from ..widgets.image_view import ImageView

CACHED = 12  # pictures kept, so n then p shows the previous one at once
SHORT = {  # report column titles as the caption says them
    "Class Predicted by Optimized Model": "optimized",
    "Class Predicted by Parent Model": "parent",
    "Rank of Class Predicted by Parent Model in Optimized Model Predictions": "parent's class ranks",
    "Optimized Model Confidence in Class Predicted by Optimized Model": "confidence",
    "Optimized Model Confidence in Class Predicted by Parent Model": "confidence in parent's class",
    "Predicted Class": "predicted",
    "Class Defined in Dataset Annotations": "annotation",
    "Rank of Class Defined in Dataset Annotations in Model Predictions": "annotation ranks",
    "Model Confidence in Predicted Class": "confidence",
    "Model Confidence in Class Defined in Dataset Annotations": "confidence in annotation",
    "A. Optimized Model Detections": "optimized detections",
    "B. Parent Model Detections": "parent detections",
    "A. Model Detections": "detections",
    "B. Objects in Dataset Annotations": "annotated objects",
    "Matches between A and B": "matches",
    "Class Predicted by Model": "class",
    "Predicted Class Precision": "precision",
    "Predicted Class Average Precision": "AP",
    "Average Result": "mean IoU",
    "Result": "IoU",
}
PARENT, OPTIMIZED, ANNOTATION = "#ff8c00", "#1e90ff", "#28be28"  # engine.visualize's colours


def safe_name(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def unreadable(exc: OSError) -> BadInput:
    """A missing or broken image file, said as what to do about it."""
    name = getattr(exc, "filename", None)
    if isinstance(exc, FileNotFoundError) and name:
        return BadInput(f"image {name} is missing; put it back or import the dataset again")
    first = (str(exc).splitlines() or [type(exc).__name__])[0]
    return BadInput(f"cannot read the image: {first}")


class VisualizeScreen(Screen[int]):
    """Dismissed with the row last shown, so the report's cursor follows."""

    HELP_TITLE = "Visualize"
    BINDINGS = [
        Binding("escape", "close", "back", tooltip="Back to the report, on the row shown here", id="visualize-back"),
        Binding("n", "step(1)", "next", tooltip="The next row of the report (as sorted and filtered)",
                id="visualize-next"),
        Binding("p", "step(-1)", "previous", tooltip="The previous row of the report", id="visualize-previous"),
        Binding("b", "blend", "blend", tooltip="Segmentation: masks blended into one picture, or side by side",
                id="visualize-blend"),
        Binding("s", "save", "save PNG", tooltip="Save the picture as a PNG in the current folder",
                id="visualize-save"),
    ]

    def __init__(self, report: Report, table: Any, row: int) -> None:
        super().__init__()
        self.report = report
        self.table = table
        self.row = row
        self.arrangement = "side-by-side"
        self.pictures: OrderedDict[tuple[int, str], Image.Image] = OrderedDict()
        self.model: Model | None = None
        self.reference: Model | None = None
        self.dataset: Dataset | None = None
        self.annotated: list[str | None] = []  # classification: each item's annotated class

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="vis-caption", classes="detail", markup=False)
        yield ImageView(id="vis-image")
        yield KeyFooter()

    def on_mount(self) -> None:
        ws = self.app.ws
        self.sub_title = self.report.name
        try:
            self.model = ws.get(Model, self.report.model)
            self.reference = ws.get(Model, self.report.reference) if self.report.reference else None
            self.dataset = ws.get(Dataset, self.report.dataset)
            from engine.visualize import annotated_classes

            self.annotated = annotated_classes(ws, self.model, self.dataset)
        except OwbError as exc:
            self.query_one(ImageView).fail(error_text(exc))
            self.app.notify(error_text(exc), severity="error", timeout=8)
            return
        self.draw()

    # -- what is shown -------------------------------------------------------
    @property
    def item(self) -> int:
        return int(self.table.items[self.row])

    @property
    def key(self) -> tuple[int, str]:
        return self.item, self.arrangement

    @property
    def image_name(self) -> str:
        columns = list(self.table.columns)
        return self.table.cell(self.row, columns.index("Image Name")) if "Image Name" in columns else f"#{self.item}"

    @property
    def blendable(self) -> bool:
        return self.model is not None and self.model.config.task == "segmentation" and self.reference is not None

    def caption(self) -> Text:
        table, row = self.table, self.row
        text = Text()
        text.append(printable(self.image_name), style="bold")
        text.append(f"  row {row + 1} of {len(table)}")
        flagged = [name for name, mask in table.flags.items() if mask[row]]
        if flagged:
            text.append(f"  ({', '.join(flagged)})", style="bold")
        facts = [f"{SHORT.get(title, title)}: {table.cell(row, c)}"
                 for c, title in enumerate(table.columns) if title != "Image Name"]
        text.append("\n" + " · ".join(facts))
        text.append("\n")
        # the legend in the picture's order: annotation (the first panel), parent, optimized;
        # for classification each with its class in words, which half-block pixels cannot carry
        truth = self.annotated[self.item] if self.item < len(self.annotated) else None
        if self.dataset is not None and self.dataset.annotated and self.arrangement != "blend":
            text.append("■", style=ANNOTATION)
            text.append(f" annotation{self.said(truth)}  ")
        if self.reference is not None:
            text.append("■", style=PARENT)
            text.append(f" parent {printable(self.reference.name)}"
                        f"{self.said(self.cell('Class Predicted by Parent Model'))}  ")
            text.append("■", style=OPTIMIZED)
            text.append(f" optimized {printable(self.model.name) if self.model else ''}"
                        f"{self.said(self.cell('Class Predicted by Optimized Model'))}  ")
        elif self.model is not None:
            text.append("■", style=OPTIMIZED)
            text.append(f" {printable(self.model.name)}{self.said(self.cell('Predicted Class'))}  ")
        if self.blendable:
            text.append(f"[{self.arrangement}; b switches]")
        return text

    def cell(self, title: str) -> str | None:
        columns = list(self.table.columns)
        return self.table.cell(self.row, columns.index(title)) if title in columns else None

    @staticmethod
    def said(label: str | None) -> str:
        return f": {printable(label)}" if label is not None else ""

    def draw(self) -> None:
        """The current row's picture: from the cache, else rendered in a thread."""
        self.query_one("#vis-caption", Static).update(self.caption())
        view = self.query_one(ImageView)
        if self.model is None or self.dataset is None:  # its records are gone; on_mount said so
            return
        picture = self.pictures.get(self.key)
        if picture is not None:
            self.pictures.move_to_end(self.key)
            view.show(picture)
            return
        view.wait(f"drawing {self.image_name} …")
        self.render_picture(self.row, self.item, self.arrangement)

    @work(thread=True, exclusive=True, group="visualize", exit_on_error=False)
    def render_picture(self, row: int, item: int, layout: str) -> None:
        from engine.visualize import render

        worker = get_current_worker()
        options = self.report.summary.get("options") or {}
        try:
            picture = render(self.app.ws, self.model, self.dataset, item, reference=self.reference, layout=layout,
                             conf_threshold=float(options.get("conf_threshold", CONF_THRESHOLD)))
        except OSError as exc:
            failure: BaseException = unreadable(exc)
        except Exception as exc:  # noqa: BLE001 - any failure becomes a notification, never a crash
            failure = exc
        else:
            if not worker.is_cancelled:
                self.app.call_from_thread(self._drawn, (item, layout), picture)
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._failed, (item, layout), failure)

    def _drawn(self, key: tuple[int, str], picture: Image.Image) -> None:
        self.pictures[key] = picture
        while len(self.pictures) > CACHED:
            self.pictures.popitem(last=False)
        if key == self.key:  # the user may have moved on while it was drawn
            self.query_one(ImageView).show(picture)

    def _failed(self, key: tuple[int, str], exc: BaseException) -> None:
        if key == self.key:
            self.query_one(ImageView).fail(f"cannot draw {self.image_name}: {error_text(exc)}")
        self.app.show_error(exc)

    # -- keys ----------------------------------------------------------------
    def action_close(self) -> None:
        self.dismiss(self.row)

    def action_step(self, delta: int) -> None:
        target = self.row + delta
        if not 0 <= target < len(self.table):
            self.app.notify("this is the last row" if delta > 0 else "this is the first row", severity="warning",
                            timeout=3)
            return
        self.row = target
        self.draw()

    def action_blend(self) -> None:
        if not self.blendable:
            self.app.notify("b blends the two masks of a segmentation report against the parent",
                            severity="warning")
            return
        self.arrangement = "blend" if self.arrangement == "side-by-side" else "side-by-side"
        self.draw()

    def action_save(self) -> None:
        picture = self.pictures.get(self.key)
        if picture is None:
            self.app.notify("no picture to save yet; press s once it shows", severity="warning")
            return
        model = self.model.name if self.model else "model"
        suffix = "-blend" if self.arrangement == "blend" else ""
        target = free_path(Path.cwd() / f"{safe_name(model)}-{safe_name(Path(self.image_name).stem)}{suffix}.png")
        try:
            save_picture(picture, output_path(target, home=self.app.ws.home, flag="picture"))
        except OwbError as exc:
            self.app.notify(str(exc), severity="error", timeout=8)
            return
        self.app.notify(f"saved {target}")
