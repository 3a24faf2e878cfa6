"""Machine-readable prediction summaries and their figures (``cevnsfit predict``)."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..experiments import get_experiment
from .style import OKABE_ITO, figure_style, save_figure


def prediction_summary(experiment: str, mode: str = "paper", model=None, **options) -> dict:
    """Binned prediction of ``experiment`` as a JSON-ready dict.

    Keys: experiment, mode, total, by_flavour (numu_prompt, nue, numubar), bins (edges per
    axis with units, counts nested as [axis0][axis1]...), and with a model also sm_total and
    ratio_to_sm.
    """
    exp = get_experiment(experiment, mode, **options)
    if model is not None and model.shape != ():
        raise ParameterError("prediction_summary takes a single parameter point")
    by = exp.predict(model, by_flavour=True)
    counts = by.sum(axis=0)
    out = {
        "experiment": exp.name,
        "mode": exp.mode,
        "total": float(counts.sum()),
        "by_flavour": {g: float(by[j].sum()) for j, g in enumerate(exp.engine.group_names)},
        "bins": {
            "axes": [{"name": a.name, "unit": a.unit, "edges": a.edges.tolist()} for a in exp.axes],
            "counts": counts.tolist(),
        },
    }
    if callable(exp.info.get("events_per_run")):  # a rate prediction: events per run (the unit says how)
        _run_events(exp, model, out)
    if model is not None:
        sm = out.pop("_sm_events", None) or float(exp.predict(None).sum())
        out["sm_total"] = sm
        out["ratio_to_sm"] = out["total"] / sm if sm > 0 else float("nan")
        out["model"] = {"name": model.NAME, "parameters": {k: float(v) for k, v in model.values.items()}}
    return out


def _run_events(exp, model, out: dict) -> None:
    """An experiment whose prediction is a rate (e.g. per t y and recoil slot) declares
    ``info["events_per_run"](model) -> {run: events}``: the summary's ``total`` is then those
    events, with ``per_run`` values and the rate in ``rate_per_ty``."""
    events = exp.info["events_per_run"]
    per = events(model)
    out["rate_per_ty"] = out["total"]
    out["total"] = sum(per.values())
    out["per_run"] = per
    out["unit"] = exp.info.get("events_unit", "events per run")
    if model is not None:
        sm = events(None)
        out["sm_per_run"] = sm
        out["_sm_events"] = sum(sm.values())


def plot_prediction(experiment: str, path, mode: str = "paper", model=None, **options) -> None:
    """Recoil spectrum dN/dE_r per flavour (SM, and the model if given) and the distribution
    of each observable, saved to ``path`` (format from the suffix; PDF and PNG both work)."""
    import matplotlib.pyplot as plt

    exp = get_experiment(experiment, mode, **options)
    blk = exp.engine.blocks[0]
    er_max = max(b.er_mev.max() for b in exp.engine.blocks)
    er = np.linspace(er_max * 1e-3, er_max, 400)
    with figure_style():
        naxes = len(exp.axes)
        fig, axs = plt.subplots(1, 1 + naxes, figsize=(4.2 * (1 + naxes), 3.6))
        ax = axs[0]
        sm = exp.engine.recoil_spectrum(er, None)
        labels = {"numu_prompt": r"prompt $\nu_\mu$", "nue": r"$\nu_e$", "numubar": r"$\bar\nu_\mu$"}
        for j, g in enumerate(exp.engine.group_names):
            ax.plot(er * 1e3, sm[j] * 1e-3, color=OKABE_ITO[j], label=f"SM {labels.get(g, g)}")
        ax.plot(er * 1e3, sm.sum(0) * 1e-3, color="k", label="SM total")
        if model is not None:
            bsm = exp.engine.recoil_spectrum(er, model, exp.matching)
            ax.plot(er * 1e3, bsm.sum(0) * 1e-3, "k--", label="model total")
        ax.set_xlabel(r"recoil energy $E_r$ [keV$_\mathrm{nr}$]")
        ax.set_ylabel(r"$dN/dE_r$ [events/keV$_\mathrm{nr}$]")
        ax.set_yscale("log")
        ax.set_ylim(bottom=max(sm.sum(0).max() * 1e-3 * 1e-4, 1e-6))
        ax.legend(fontsize=7)
        ax.set_title(
            f"{exp.name} ({exp.mode}) — {blk.nucleus.name} target"
            if len(exp.engine.blocks) == 1
            else f"{exp.name} ({exp.mode})"
        )
        pred_sm = exp.predict(None)
        pred_m = exp.predict(model) if model is not None else None
        for i, a in enumerate(exp.axes):
            other = tuple(k for k in range(naxes) if k != i)
            axp = axs[1 + i]
            axp.stairs(pred_sm.sum(axis=other), a.edges, color="k", label="SM")
            if pred_m is not None:
                axp.stairs(pred_m.sum(axis=other), a.edges, color=OKABE_ITO[4], ls="--", label="model")
            axp.set_xlabel(f"{a.name} [{a.unit}]" if a.unit else a.name)
            axp.set_ylabel("events per bin")
            axp.legend(fontsize=7)
        fig.tight_layout()
        save_figure(fig, path)
        plt.close(fig)
