#!/usr/bin/env python3
"""Score the organisation resolver against a labelled set of real names.

    .venv/bin/python scripts/eval_resolver.py                 # data/resolver/eval_names.csv
    .venv/bin/python scripts/eval_resolver.py --csv other.csv # any file with the same columns

Columns: name, source, kind, state, federal (0/1), federal_component, immigration (0/1), notes,
and optionally split (dev | holdout | ...) and group (federal | trap | kind_trap | ordinary).
Prints precision/recall/F1 per label (federal yes/no, immigration yes/no, each kind), component
accuracy on the true federal names and state accuracy, for each split and for all rows, then
every error.  Exit status 1 when federal precision < 0.99 or recall < 0.95 over all rows.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from alpr_inventory.resolve.resolver import KINDS, Resolution, Resolver  # noqa: E402

DEFAULT_EVAL = REPO / "data" / "resolver" / "eval_names.csv"
REQUIRED = ("name", "source", "kind", "state", "federal", "federal_component", "immigration",
            "notes")
MIN_FED_PRECISION = 0.99
MIN_FED_RECALL = 0.95


@dataclass
class Labelled:
    line: int
    name: str
    source: str
    kind: str
    state: str
    federal: bool
    component: str
    immigration: bool
    notes: str
    split: str
    group: str


@dataclass
class PRF:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def support(self) -> int:
        return self.tp + self.fn


@dataclass
class Scores:
    n: int = 0
    labels: dict[str, PRF] = field(default_factory=dict)
    component_ok: int = 0
    component_n: int = 0
    state_ok: int = 0

    def prf(self, label: str) -> PRF:
        return self.labels.setdefault(label, PRF())

    @property
    def federal(self) -> PRF:
        return self.prf("federal=yes")

    @property
    def component_accuracy(self) -> float:
        return self.component_ok / self.component_n if self.component_n else 1.0

    @property
    def state_accuracy(self) -> float:
        return self.state_ok / self.n if self.n else 1.0


@dataclass
class Report:
    path: Path
    rows: list[Labelled]
    results: list[Resolution]
    by_split: dict[str, Scores]
    errors: list[tuple[Labelled, Resolution, list[str]]]
    seconds: float

    @property
    def all(self) -> Scores:
        return self.by_split["all"]

    @property
    def passed(self) -> bool:
        fed = self.all.federal
        return fed.precision >= MIN_FED_PRECISION and fed.recall >= MIN_FED_RECALL


def _flag(path: Path, line: int, column: str, value: str) -> bool:
    if value not in ("0", "1"):
        raise ValueError(f"{path}:{line}: column '{column}' must be 0 or 1, found {value!r}")
    return value == "1"


def load_labelled(path: Path | str) -> list[Labelled]:
    """Read a labelled CSV; ValueError names the file and line of a bad row."""
    path = Path(path)
    out: list[Labelled] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}:1: missing column(s) {missing}")
        for row in reader:
            line = reader.line_num
            kind = (row["kind"] or "").strip()
            if kind not in KINDS:
                raise ValueError(f"{path}:{line}: kind {kind!r} is not one of {KINDS}")
            federal = _flag(path, line, "federal", (row["federal"] or "").strip())
            if federal != (kind == "federal"):
                raise ValueError(f"{path}:{line}: federal=1 exactly when kind is 'federal'")
            out.append(Labelled(
                line=line, name=row["name"], source=row["source"], kind=kind,
                state=(row["state"] or "").strip(), federal=federal,
                component=(row["federal_component"] or "").strip(),
                immigration=_flag(path, line, "immigration", (row["immigration"] or "").strip()),
                notes=row.get("notes") or "", split=(row.get("split") or "").strip() or "all",
                group=(row.get("group") or "").strip()))
    return out


def _score(pairs: list[tuple[Labelled, Resolution]]) -> Scores:
    s = Scores()
    for gold, got in pairs:
        s.n += 1
        for label, g, p in (
            ("federal=yes", gold.federal, got.federal),
            ("federal=no", not gold.federal, not got.federal),
            ("immigration=yes", gold.immigration, got.immigration),
            ("immigration=no", not gold.immigration, not got.immigration),
        ):
            prf = s.prf(label)
            prf.tp += g and p
            prf.fp += p and not g
            prf.fn += g and not p
        for kind in KINDS:
            g, p = gold.kind == kind, got.kind == kind
            if g or p:
                prf = s.prf(f"kind={kind}")
                prf.tp += g and p
                prf.fp += p and not g
                prf.fn += g and not p
        if gold.federal:
            s.component_n += 1
            s.component_ok += (got.federal_component or "") == gold.component
        s.state_ok += (got.state or "") == gold.state
    return s


def _problems(gold: Labelled, got: Resolution) -> list[str]:
    out = []
    if gold.federal != got.federal:
        out.append(f"federal {int(gold.federal)}->{int(got.federal)}")
    if gold.immigration != got.immigration:
        out.append(f"immigration {int(gold.immigration)}->{int(got.immigration)}")
    if gold.federal and (got.federal_component or "") != gold.component:
        out.append(f"component {gold.component}->{got.federal_component}")
    if gold.kind != got.kind:
        out.append(f"kind {gold.kind}->{got.kind}")
    if (got.state or "") != gold.state:
        out.append(f"state {gold.state or '-'}->{got.state or '-'}")
    return out


def evaluate(path: Path | str | None = None, resolver: Resolver | None = None) -> Report:
    """Resolve every labelled name and score it (dev, holdout, ..., and all)."""
    path = Path(path) if path is not None else DEFAULT_EVAL
    resolver = resolver or Resolver.load()
    rows = load_labelled(path)
    t0 = time.perf_counter()
    results = resolver.resolve_many(r.name for r in rows)
    seconds = time.perf_counter() - t0
    pairs = list(zip(rows, results, strict=True))
    splits: dict[str, list] = {}
    for gold, got in pairs:
        splits.setdefault(gold.split, []).append((gold, got))
    by_split = {name: _score(p) for name, p in sorted(splits.items())}
    by_split["all"] = _score(pairs)
    errors = [(g, r, p) for g, r in pairs if (p := _problems(g, r))]
    return Report(path, rows, results, by_split, errors, seconds)


def _table(name: str, s: Scores) -> str:
    lines = [f"== {name}: {s.n} names", f"  {'label':<24}{'P':>7}{'R':>7}{'F1':>7}{'support':>9}"]
    order = ["federal=yes", "federal=no", "immigration=yes", "immigration=no"] + [
        f"kind={k}" for k in KINDS]
    for label in order:
        if label in s.labels:
            prf = s.labels[label]
            lines.append(f"  {label:<24}{prf.precision:7.3f}{prf.recall:7.3f}{prf.f1:7.3f}"
                         f"{prf.support:9d}")
    lines.append(f"  component accuracy on true federal names: {s.component_ok}/{s.component_n}"
                 f" = {s.component_accuracy:.3f}")
    lines.append(f"  state accuracy: {s.state_ok}/{s.n} = {s.state_accuracy:.3f}")
    return "\n".join(lines)


def format_report(rep: Report) -> str:
    groups = Counter(r.group or "-" for r in rep.rows)
    sources = Counter(r.source for r in rep.rows)
    out = [f"eval set {rep.path}: {len(rep.rows)} names; groups {dict(groups)}; "
           f"{len(sources)} source files; resolved in {rep.seconds * 1000:.1f} ms"]
    for name, s in rep.by_split.items():
        out.append(_table(name, s))
    out.append(f"== errors ({len(rep.errors)})")
    for gold, got, problems in rep.errors:
        out.append(f"  [{gold.split}] line {gold.line} {gold.name!r}: {'; '.join(problems)}"
                   f"  (rule {got.rule})")
    fed = rep.all.federal
    verdict = "PASS" if rep.passed else "FAIL"
    out.append(f"{verdict}: federal precision {fed.precision:.3f} (min {MIN_FED_PRECISION}), "
               f"recall {fed.recall:.3f} (min {MIN_FED_RECALL}) over all {rep.all.n} names")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", type=Path, default=DEFAULT_EVAL, help="labelled CSV to evaluate")
    ap.add_argument("--data-dir", type=Path, default=None, help="resolver data directory")
    args = ap.parse_args(argv)
    rep = evaluate(args.csv, Resolver.load(args.data_dir))
    print(format_report(rep))
    return 0 if rep.passed else 1


if __name__ == "__main__":
    sys.exit(main())
