# %% [markdown]
# # Tutorial 2: constrain your own vector mediator
#
# The catalogue model `vector` is a light vector boson of mass $M$ with free couplings
# $g_\nu^\alpha$ to left-handed neutrinos of each flavour and vector couplings $g_u$, $g_d$ to
# quarks. It shifts the weak charge of a nucleus (see [Models](../physics/models.md)):
#
# $$Q_\alpha(Q^2) = Q_V^{\rm SM} + \frac{g_\nu^\alpha\,[(2Z+N)\,g_u + (Z+2N)\,g_d]}{c\,G_F\,(Q^2 + M^2)},$$
#
# with $c = 2\sqrt2$ (`paper` matching, the default) or $\sqrt2$ (`full` matching; see
# [Conventions](../physics/conventions.md)). Here we invent a model where only $\nu_\mu$ and
# the quarks couple, and ask what CsI 2017 + CENNS-10 say about it.
#
# Run time: about half a minute.

# %%
# %matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np

import cevnsfit
from cevnsfit.experiments import get_experiment
from cevnsfit.inference.exclusion import exclusion
from cevnsfit.inference.fits import fit, profile_interval
from cevnsfit.inference.problem import Problem
from cevnsfit.models import model_from_name, parameters_of

t_start = time.perf_counter()

# %% [markdown]
# ## 1. The model and its declared parameters
#
# Every model declares its parameters: unit, default, allowed range and default prior.
# Inference uses these declarations, so the same code serves any model.

# %%
for p in parameters_of("vector"):
    print(f"{p.name:8s} unit={p.unit or '-':4s} default={p.default:<6g} prior={p.prior:12s} "
          f"[{p.prior_low:g}, {p.prior_high:g}]  {p.description}")

# %% [markdown]
# A model object holds one or many parameter points; arrays broadcast. Three points with
# both signs of $g_{\nu_\mu}$:

# %%
model = model_from_name("vector", mzp_mev=30.0, g_numu=[-2e-5, 0.0, 4e-5], g_u=1e-4, g_d=1e-4)
print(model.shape)

# %% [markdown]
# ## 2. Predictions
#
# An experiment predicts binned counts for every point at once. For CsI 2017 the bins are
# photoelectrons x arrival time; we sum over them. The SM charge $Q_V^{\rm SM}$ is
# negative, so a positive product $g_{\nu} g_q$ interferes destructively (fewer events)
# and a negative one constructively.

# %%
csi = get_experiment("csi2017", mode="paper")
sm = csi.predict()
bsm = csi.predict(model)
print(f"SM: {sm.sum():.1f} events in the analysis window")
for g, n in zip([-2e-5, 0.0, 4e-5], bsm.reshape(3, -1).sum(axis=1)):
    print(f"g_numu = {g:+.0e}: {n:7.1f} events ({n / sm.sum() - 1:+.1%})")

# %% [markdown]
# Only the prompt $\nu_\mu$ and the delayed $\bar\nu_\mu$ couple in this model; the $\nu_e$
# flux is untouched. `by_flavour=True` shows it:

# %%
groups = csi.predict(model, by_flavour=True).reshape(3, 3, -1).sum(axis=-1)
print("groups: numu_prompt, nue, numubar")
print(np.round(groups, 1))

# %% [markdown]
# ## 3. A fit of $g_{\nu_\mu}$ at fixed mass and quark couplings
#
# The likelihood of CsI 2017 and CENNS-10 in `paper` mode (see [Statistics](../statistics.md)).
# The `Problem` makes `g_numu` the parameter of interest and fixes the others; parameters we
# do not mention keep their declared default (here: $g_{\nu_e} = g_{\nu_\tau} = 0$).

# %%
like = cevnsfit.likelihood("csi2017,cenns10", mode="paper")
problem = Problem(like, "vector", poi=["g_numu"], fixed={"mzp_mev": 30.0, "g_u": 1e-4, "g_d": 1e-4})
res = fit(problem)
print(f"MLE g_numu = {res['mle']['g_numu']:.3g}, t = {res['t']:.2f}, Z = {res['z_sigma']:.2f} sigma (Wilks, 1 dof)")

# %% [markdown]
# A profile-likelihood interval ($t \le 1$: 68.3 % by Wilks' theorem for one parameter;
# `delta=2.706` would give 90 % CL):

# %%
iv = profile_interval(problem, delta=1.0)
for seg in iv["segments"]:
    print(f"[{seg['low']:.3g}, {seg['high']:.3g}]")

# %%
g = np.linspace(-1e-4, 2e-4, 301)
t = 2.0 * (res["logl_max"] - problem.logl(g))
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(g, t, color="#0072B2")
ax.axhline(1.0, color="#E69F00", ls="--", label="t = 1")
ax.set_xlabel(r"$g_{\nu_\mu}$  ($g_u = g_d = 10^{-4}$, $M$ = 30 MeV)")
ax.set_ylabel(r"$t = -2\ln[L/L_{\max}]$")
ax.set_ylim(0, 12)
ax.legend()
plt.show()

# %% [markdown]
# Reading the curve: the data prefer fewer events than the SM predicts, so $t$ is lowest
# at a positive coupling (destructive interference). Beyond it the $\nu_\mu$ charge passes
# through zero, changes sign, and the rate rises again: where $Q_\mu \approx -Q_V^{\rm SM}$
# the SM rate is restored, which is why exclusion regions need not be simply connected.
#
# ## 4. An exclusion map in (mass, coupling)
#
# With two parameters of interest, `exclusion` evaluates $\ln L$ on a grid over the declared
# prior box (log-uniform for the mass, uniform for the coupling) and returns the Wilks
# contour at $Z = 2$ with 2 degrees of freedom.

# %%
problem2 = Problem(like, "vector", poi=["mzp_mev", "g_numu"], fixed={"g_u": 1e-4, "g_d": 1e-4})
ex = exclusion(problem2, n=(41, 61), z=2.0, dof=2)
print(ex["axes"], f"threshold t = {ex['t_threshold']:.3f}")

# %%
x = np.asarray(ex["log10_mzp_mev"])
y = np.asarray(ex["g_numu"])
tt = np.asarray(ex["t"])
fig, ax = plt.subplots(figsize=(6, 4))
ax.contourf(10**x, y, tt.T, levels=[ex["t_threshold"], tt.max() + 1], colors=["#56B4E9"], alpha=0.6)
ax.contour(10**x, y, tt.T, levels=[ex["t_threshold"]], colors=["#0072B2"])
ax.set_xscale("log")
ax.set_xlabel("$M$ [MeV]")
ax.set_ylabel(r"$g_{\nu_\mu}$")
ax.set_title(r"excluded at $2\sigma$ (shaded), $g_u = g_d = 10^{-4}$")
plt.show()

# %% [markdown]
# Things to try: `matching="full"` is a likelihood option (`cevnsfit.likelihood(..., matching="full")`)
# that doubles the $Z'$ amplitude; add `"csi2021"` to the data sets; make `g_u` a profiled
# nuisance with `Problem(..., profile=["g_u"])`.

# %%
print(f"run time: {time.perf_counter() - t_start:.1f} s")
