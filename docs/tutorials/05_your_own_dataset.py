# %% [markdown]
# # Tutorial 5: your own data set
#
# A data set is a declaration: one YAML file says what the detector is (source, target,
# binning, response) and how its likelihood is built (channels, samples, modifiers with
# constraints), in the [data-set format](../datasets/format.md). No code. Here we declare a
# small hypothetical detector, validate it, predict, fit, draw an exclusion and combine it
# with COHERENT's CsI and argon data.
#
# Run time: about a minute on two cores.

# %%
# %matplotlib inline
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import yaml

import cevnsfit
from cevnsfit.datasets import register
from cevnsfit.errors import DeclarationError
from cevnsfit.inference.exclusion import exclusion_map
from cevnsfit.inference.fits import fit
from cevnsfit.inference.problem import Problem
from cevnsfit.models import model_from_name

# %% [markdown]
# ## 1. The declaration
#
# A 10 kg undoped CsI crystal 20 m from the SNS target for two years (a made-up detector,
# loosely after the cryogenic-CsI proposals): linear quenching, a Gaussian resolution, a step
# threshold, a flat steady-state background, and three normalisation nuisances.

# %%
text = """
format: cevnsfit-dataset/1
name: toy_csi
title: A hypothetical 10 kg cryogenic CsI detector at the SNS (tutorial 5)
kind: projection
exposures: [toy-csi-exposure]
modes: [paper]
experiment:
  source: {type: stopped_pion, pot: 3.0e+23, nu_per_pot: 0.09, distance_m: 20.0}
  targets:
    - {name: CsI, mass_kg: 10.0, composition: {Cs133: 1, I127: 1}, form_factor: helm, rn_fm: 4.8}
  observable: {name: energy, unit: keVee, binning: {start: 0.5, stop: 5.0, width: 0.5}}
  response:
    - {component: quenching, model: linear, qf: 0.08}
    - {component: smearing, model: gaussian, stochastic: 0.1, noise: 0.05}
    - {component: efficiency, model: step, threshold: 0.5, sub_bin_width: 0.05}
likelihood:
  paper:
    channels:
      - name: energy
        data: {asimov: sm}
        samples:
          - name: cevns
            signal: cevns
            modifiers:
              - {name: sns_flux, type: normsys, shared: sns_flux, constraint: {type: normal, sigma: 0.10}}
              - {name: quenching_norm, type: normsys, constraint: {type: lognormal, sigma: 0.05}}
          - name: steady_state
            template: {flat: {total: 500.0}}
            modifiers:
              - {name: ss_norm, type: normsys, constraint: {type: gamma, sigma: 0.05}}
"""
path = Path(tempfile.mkdtemp()) / "toy_csi.yaml"
path.write_text(text)
unit = cevnsfit.dataset_from_spec(path)
unit

# %% [markdown]
# The file is validated on load. A typo, a wrong type, an unknown modifier or a template of
# the wrong length is an error that names the file, the key and what is allowed:

# %%
bad = yaml.safe_load(text)
bad["likelihood"]["paper"]["channels"][0]["samples"][0]["modifiers"][0]["constraint"]["type"] = "uniform"
bad_path = path.with_name("bad.yaml")
bad_path.write_text(yaml.safe_dump(bad))
try:
    cevnsfit.dataset_from_spec(bad_path)
except DeclarationError as exc:
    print(exc)

# %% [markdown]
# ## 2. Predict
#
# `unit.experiment()` is an `Experiment` like `get_experiment("csi2017")`: the rate engine
# through the declared response, for any model.

# %%
exp = unit.experiment("paper")
sm = exp.predict()
zp = exp.predict(model_from_name("lmu-ltau", mzp_mev=10.0, gx=1e-3))
edges = exp.axes[0].edges
fig, ax = plt.subplots(figsize=(5, 3))
ax.stairs(sm, edges, label=f"SM ({sm.sum():.0f} events)")
ax.stairs(zp, edges, label=f"$L_\\mu - L_\\tau$, 10 MeV, $g_x = 10^{{-3}}$ ({zp.sum():.0f})")
ax.set_xlabel("energy [keVee]")
ax.set_ylabel("events per bin")
ax.legend(fontsize=7)
plt.show()

# %% [markdown]
# ## 3. Fit
#
# `register` makes the data set known by name in this session, exactly what
# `--dataset-spec FILE` does on the command line. Asimov data: the best fit is the SM.

# %%
register(unit)
like = cevnsfit.likelihood("toy_csi")
res = fit(Problem(like, "lmu-ltau", poi=["gx"], fixed={"mzp_mev": 20.0, "r": 1.0}))
print(f"MLE g_x = {res['mle']['gx']:.3g}, t = {res['t']:.3g}")

# %% [markdown]
# ## 4. Exclude, and combine with COHERENT
#
# The combination multiplies the likelihoods (their exposures differ, so nothing counts
# twice). The projection's nuisances stay its own; `share=["sns_flux"]` would tie its flux to
# another declared SNS data set that offers the same key.

# %%
maps = {
    ds: exclusion_map(ds, n_mzp=15, n_gx=21) for ds in ("csi2017,cenns10", "toy_csi", "csi2017,cenns10,toy_csi")
}
fig, ax = plt.subplots(figsize=(5, 3.5))
for (ds, m), style in zip(maps.items(), ("-", "--", ":")):
    for j, line in enumerate(m["contours"]):
        xy = np.asarray(line)
        ax.plot(10 ** xy[:, 0], 10 ** xy[:, 1], style, label=ds if j == 0 else None)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("$M_{Z'}$ [MeV]")
ax.set_ylabel("$g_x$")
ax.set_title("$2\\sigma$ exclusions (Wilks, 2 dof)", fontsize=9)
ax.legend(fontsize=7)
plt.show()

# %% [markdown]
# The same from the command line:
#
# ```bash
# cevnsfit predict --dataset-spec toy_csi.yaml
# cevnsfit fit --dataset-spec toy_csi.yaml --datasets csi2017,cenns10 --mzp 20
# cevnsfit exclusion --dataset-spec toy_csi.yaml --datasets toy_csi --datasets csi2017,cenns10,toy_csi
# ```
#
# To add the detector to the package for everyone, make it a folder
# `src/cevnsfit/datasets/toy_csi/` with this `dataset.yaml` and a `docs.md`.
