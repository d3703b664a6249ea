"""``svcplan calibrate …``: the calibration tools of :mod:`svcplan.prep.calibrate` on files.

Each command reads a planner's CSV, writes case tables (response.csv, segments.csv,
products.csv, policies.csv) plus a table of details into ``--out``, prints what it found,
and lists every warning. A sub-app of its own (``svcplan calibrate two-point`` …), added to
the main app by :mod:`.app`; errors go through the one printer, :func:`.common.fail`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from ..case.schema import ID_DTYPES
from ..outputs import svg
from ..prep import calibrate as cal
from .common import console, fail

app = typer.Typer(help="Build case tables from your own data (response curves, tiers, classes).",
                  no_args_is_help=True, rich_markup_mode=None)
T = TypeVar("T")

InFile = Annotated[Path, typer.Argument(help="Input CSV.", exists=True, dir_okay=False)]
Out = Annotated[Path, typer.Option("--out", "-o", help="Folder for the written tables.")]
Levels = Annotated[Path, typer.Option(help="The case folder or its levels.csv (service levels).",
                                      exists=True)]


def _read(path: Path) -> pd.DataFrame:
    """A planner's CSV with ids as text (case ids, and ``customer`` of transaction files)."""
    return pd.read_csv(path, dtype=ID_DTYPES | {"customer": str})


def _checked(fn: Callable[..., T], *args: Any) -> T:
    """Run one calibration; the ValueError it raises for bad input is reported by
    :func:`.common.fail` (exit 2), like every input problem of the command line."""
    try:
        return fn(*args)
    except ValueError as exc:
        fail(str(exc))


def _service(levels: Path) -> pd.Series:
    """The service of each level, from a case folder or its levels.csv."""
    path = levels / "levels.csv" if levels.is_dir() else levels
    return _checked(cal.level_service, _read(path))


def _update(table: pd.DataFrame, key: str, values: pd.Series, column: str,
            what: str) -> tuple[pd.Series, list[str]]:
    """``table[column]`` taken from ``values`` (indexed by ``key``); a row without a new value
    keeps its old one, and a note names those rows (the planner's table is updated, not lost)."""
    missing = sorted(set(table[key]) - set(values.index))
    notes = [f"no {what} {', '.join(missing)}: {column} kept"] if missing else []
    old = table[column] if column in table else pd.Series(pd.NA, table.index)
    return table[key].map(values).fillna(old), notes


def _show(df: pd.DataFrame, title: str) -> None:
    """What was found, as a table: the planner checks it before using the written files."""
    t = Table(title=title)
    for c in df.columns:
        t.add_column(str(c), justify="right" if pd.api.types.is_numeric_dtype(df[c]) else "left")
    for row in df.itertuples(index=False):
        t.add_row(*[f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v) for v in row])
    console.print(t)


def _finish(out: Path, files: dict[str, pd.DataFrame], notes: list[str]) -> None:
    """Write the tables into ``out`` and list every warning of the calibration."""
    out.mkdir(parents=True, exist_ok=True)
    for name, df in files.items():
        df.to_csv(out / name, index=False, float_format="%.6g")
    for n in notes:
        console.print(f"[yellow]warning:[/] {n}", highlight=False)
    console.print(f"Wrote {', '.join(files)} to [bold]{out}[/]")


@app.command("two-point")
def two_point_cmd(observations: InFile, levels: Levels, out: Out = Path("calibrated"),
                  reference: Annotated[str | None, typer.Option(
                      help="Level whose capture is 1.0 (default: the top level).")] = None
                  ) -> None:
    """Before/after method: the line through two (service, sales) points per segment."""
    resp, fit, notes = _checked(cal.two_point, _read(observations), _service(levels), reference)
    _show(fit, "Two-point lines (sales = intercept + slope × service)")
    _show(_wide(resp), "capture by level")
    _finish(out, {"response.csv": resp, "response_fit.csv": fit}, notes)


@app.command("logistic")
def logistic_cmd(observations: InFile, levels: Levels, out: Out = Path("calibrated")) -> None:
    """Fit an S-curve per segment; write response.csv, the fit table and a chart page."""
    obs = _read(observations)
    service = _service(levels)
    resp, fit, notes = _checked(cal.fit_logistic, obs, service)
    _show(fit, "Logistic fits (sales = K / (1 + exp(-k (s - s0))))")
    _show(_wide(resp), "capture by level")
    _finish(out, {"response.csv": resp, "response_fit.csv": fit}, notes)
    page = out / "response_fit.html"
    page.write_text(fit_page(obs, fit, service), encoding="utf-8")
    console.print(f"Chart: [bold]{page}[/]")


def _wide(resp: pd.DataFrame) -> pd.DataFrame:
    """response.csv as segment × level (the shape a planner reads capture in)."""
    if resp.empty:
        return resp
    w = resp.pivot(index="segment", columns="level", values="capture")
    return w[list(dict.fromkeys(resp["level"]))].reset_index()


def fit_page(obs: pd.DataFrame, fit: pd.DataFrame, service: pd.Series) -> str:
    """A small offline HTML page: observations and the fitted curve of each segment."""
    o, _ = cal._observations(obs)
    charts = []
    for r in fit.itertuples(index=False):
        g = o[o["segment"] == r.segment]
        lo = min(g["service"].min(), service.min()) - 0.02
        hi = min(1.0, max(g["service"].max(), service.max()) + 0.01)
        xs = np.linspace(lo, hi, 60)
        ys = cal.logistic(xs, r.saturation_K, r.steepness_k, r.midpoint_s0)
        pts = [("observed", float(s), float(y), "#000")
               for s, y in zip(g["service"], g["sales"], strict=True)]
        pts += [("case levels", float(s), float(cal.logistic(s, r.saturation_K, r.steepness_k,
                                                               r.midpoint_s0)), "#ff7f0e")
                for s in service]
        charts.append(svg.line_chart(
            f"fit-{r.segment}", f"{r.segment}: R² {r.r2:.3f}, K {svg.fmt(r.saturation_K)}",
            [("fitted", xs.tolist(), ys.tolist())], pts, "service", "sales",
            x_format=lambda v: f"{100 * v:.0f}%", dots=False))
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Response fits</title>"
            "</head><body style='font-family:system-ui,sans-serif'><h1>Response fits</h1>"
            "<p>Black: observations; orange: the case's levels on the fitted curve.</p>"
            + "".join(charts) + "</body></html>")


@app.command("abc")
def abc_cmd(transactions: InFile, out: Out = Path("calibrated"),
            id_col: Annotated[str, typer.Option("--id", help="Customer / segment column.")]
            = "customer",
            value: Annotated[str, typer.Option(help="Contribution column.")] = "contribution",
            a: Annotated[float, typer.Option(help="Cumulative share closing class A.")] = 0.80,
            b: Annotated[float, typer.Option(help="Cumulative share closing class B.")] = 0.95,
            segments: Annotated[Path | None, typer.Option(
                help="An existing segments.csv to update (else a new one).", exists=True)] = None
            ) -> None:
    """ABC tiers by contribution (tier 1 = A) → segments.csv."""
    abc = _checked(cal.abc_tiers, _read(transactions), id_col, value, a, b)
    _show(abc, "ABC classes")
    notes: list[str] = []
    if segments is not None:
        seg = _read(segments)
        tiers, notes = _update(seg, "segment", abc.set_index("segment")["tier"], "tier",
                               "transactions for segments")
        seg["tier"] = tiers.astype("Int64")
    else:
        seg = abc[["segment", "tier"]]
    _finish(out, {"segments.csv": seg, "abc.csv": abc}, notes)


@app.command("classes")
def classes_cmd(data: InFile, out: Out = Path("calibrated"),
                growth_threshold: Annotated[float, typer.Option(help="High growth from.")] = 0.10,
                share_threshold: Annotated[float, typer.Option(
                    help="High relative share from.")] = 1.0,
                products: Annotated[Path | None, typer.Option(
                    help="An existing products.csv to update with product_class.",
                    exists=True)] = None,
                levels: Annotated[Path | None, typer.Option(
                    help="Case folder or levels.csv: also suggest policies.csv.",
                    exists=True)] = None,
                ) -> None:
    """Growth/share classes (star, cash_cow, question_mark, dog) → products.csv, policies."""
    cls = _checked(cal.growth_share, _read(data), growth_threshold, share_threshold)
    _show(cls, "Product classes")
    files = {"product_classes.csv": cls}
    notes: list[str] = []
    if products is not None:
        prod = _read(products)
        prod["product_class"], notes = _update(prod, "product", cls.set_index("product")["product_class"],
                                               "product_class", "growth/share data for")
        files["products.csv"] = prod
    if levels is not None:
        pol = cal.class_policies(_service(levels), sorted(set(cls["product_class"])))
        _show(pol, "Suggested policies")
        files["policies.csv"] = pol
    _finish(out, files, notes)
