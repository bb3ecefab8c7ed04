"""Short column headings for report tables, and the one legend line that
names what they stand for.

The stored titles are DL Workbench's ("Rank of Class Predicted by Parent
Model in Optimized Model Predictions"): exact, but at 80 columns six of them
cut to "Class Predi…" cannot be told apart. Tables show these short names;
the legend says which model each side is, and the full title stays in the
stored table, in --json and in the CSV."""

from __future__ import annotations

SHORT = {
    "Image Name": "image",
    # optimized vs parent: O is the optimized model, P its parent
    "Class Predicted by Optimized Model": "O class",
    "Class Predicted by Parent Model": "P class",
    "Rank of Class Predicted by Parent Model in Optimized Model Predictions": "P rank",
    "Optimized Model Confidence in Class Predicted by Optimized Model": "O conf",
    "Optimized Model Confidence in Class Predicted by Parent Model": "O conf P",
    "A. Optimized Model Detections": "O dets",
    "B. Parent Model Detections": "P dets",
    # against the annotations
    "Predicted Class": "predicted",
    "Class Defined in Dataset Annotations": "annotated",
    "Rank of Class Defined in Dataset Annotations in Model Predictions": "rank",
    "Model Confidence in Predicted Class": "conf",
    "Model Confidence in Class Defined in Dataset Annotations": "conf annot",
    "Class Predicted by Model": "class",
    "A. Model Detections": "dets",
    "B. Objects in Dataset Annotations": "objects",
    # either
    "Matches between A and B": "matches",
    "Predicted Class Precision": "precision",
    "Predicted Class Average Precision": "AP",
    "Average Result": "mean IoU",
    "Result": "IoU",
    "Class": "class",
    "Output": "output",
    "Cosine Similarity": "cosine",
    "Max Abs Diff": "max |diff|",
    "SQNR (dB)": "SQNR dB",
}


def short(title: str) -> str:
    return SHORT.get(title, title)


def legend(kind: str, columns: list[str], model: str, reference: str | None) -> str:
    """One line naming the sides the short headings refer to."""
    if kind == "predictions":
        line = f"O = optimized {model}, P = parent {reference or '?'}"
    elif kind == "accuracy":
        line = f"{model} against the annotations"
    else:
        return f"{model}'s outputs against {reference or '?'}'s"
    if any(c.startswith("Rank of") for c in columns):
        line += ("; P rank = rank of P's class in O's scores" if kind == "predictions"
                 else "; rank = rank of the annotated class in the model's scores") + " (0 = top)"
    if "Matches between A and B" in columns:
        line += "; a match: same class, IoU ≥ 0.5"
    return line
