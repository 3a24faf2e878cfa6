# %% [markdown]
# # Tutorial 3: a neutrino magnetic moment (and a light scalar)
#
# Not every new interaction is a shift of the vector charge. A neutrino magnetic moment
# $\mu_\nu$ scatters on the nuclear charge by photon exchange and flips the neutrino
# helicity, so it does not interfere with the SM amplitude; it adds its own term to the cross
# section (see [Cross section](../physics/cross-section.md)):
#
# $$\frac{d\sigma}{dE_r} \supset \frac{\pi\alpha^2}{m_e^2}\,\Big(\frac{\mu_\nu}{\mu_B}\Big)^2 Z^2
#   \left(\frac{1}{E_r} - \frac{1}{E}\right) F_p^2(q).$$
#
# The $1/E_r$ makes it a low-recoil effect. The rate engine handles it through the
# *magnetic* interaction structure; nothing else in the chain changes.
#
# Run time: a few seconds (CsI 2017 only; the first run on a machine also builds its per-bin tables).

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
from cevnsfit.models import model_from_name

t_start = time.perf_counter()

# %% [markdown]
# ## 1. The spectrum: where does a magnetic moment show up?
#
# CsI 2017 bins are photoelectrons (PE) x arrival time. We project on PE and compare the SM
# with an effective $\nu_\mu$ moment of $5\times10^{-9}\mu_B$ (large, for visibility) and a
# light scalar for contrast.

# %%
csi = get_experiment("csi2017", mode="paper")
sm = csi.predict()
mm = csi.predict(model_from_name("magnetic-moment", mu_numu=5e-9))
sc = csi.predict(model_from_name("scalar", ms_mev=10.0, gs=3e-5))
print("bins (PE, time):", csi.shape)

pe_sm, pe_mm, pe_sc = (a.sum(axis=1) for a in (sm, mm, sc))
idx = np.arange(len(pe_sm))
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.step(idx, pe_sm, where="mid", color="k", label="SM")
ax.step(idx, pe_mm, where="mid", color="#0072B2", label=r"$\mu_{\nu_\mu} = 5\times10^{-9}\mu_B$")
ax.step(idx, pe_sc, where="mid", color="#D55E00", ls="--", label=r"scalar, $m_S$ = 10 MeV, $g_S = 3\times10^{-5}$")
ax.set_xlabel("PE bin index (low to high light yield)")
ax.set_ylabel("events per bin")
ax.legend()
plt.show()
print(f"totals: SM {sm.sum():.1f}, magnetic {mm.sum():.1f}, scalar {sc.sum():.1f}")

# %% [markdown]
# Both add events (no interference), the magnetic moment mostly in the lowest bins.
#
# ## 2. An upper limit on $\mu_{\nu_\mu}$
#
# The parameter of interest is `mu_numu`; its declared prior is log-uniform on
# $[10^{-11}, 10^{-7}]\,\mu_B$, so the fit grid is in $\log_{10}\mu$. The SM ($\mu = 0$, the
# declared default) is the null hypothesis and sits on the boundary of the parameter space
# (see [Statistics](../statistics.md) for what that means for Wilks' theorem).

# %%
like = cevnsfit.likelihood("csi2017", mode="paper")
problem = Problem(like, "magnetic-moment", poi=["mu_numu"])
res = fit(problem)
print(f"MLE mu_numu = {res['mle']['mu_numu']:.3g} mu_B, t = {res['t']:.2f}")

# %% [markdown]
# A likelihood-ratio interval with $t \le 2.706$ (90 % CL for one parameter by Wilks) that
# reaches the bottom of the grid is an upper limit:

# %%
iv = profile_interval(problem, delta=2.706)
print(iv["segments"])
print(f"90 % CL upper limit (Wilks): mu_numu < {iv['upper_limit']:.3g} mu_B" if iv.get("upper_limit")
      else "no upper limit inside the grid")

# %% [markdown]
# ## 3. Two flavours at once
#
# The stopped-pion beam carries $\nu_e$ (delayed) and $\nu_\mu$, $\bar\nu_\mu$ (prompt and
# delayed); the arrival time separates them. An exclusion map in $(\mu_{\nu_e}, \mu_{\nu_\mu})$
# at 90 % CL for two parameters:

# %%
problem2 = Problem(like, "magnetic-moment", poi=["mu_nue", "mu_numu"])
ex = exclusion(problem2, n=(41, 41), z=1.645, dof=2)
x, y, t = (np.asarray(ex[k]) for k in ("log10_mu_nue", "log10_mu_numu", "t"))
fig, ax = plt.subplots(figsize=(5, 4))
ax.contourf(x, y, t.T, levels=[ex["t_threshold"], t.max() + 1], colors=["#56B4E9"], alpha=0.6)
ax.contour(x, y, t.T, levels=[ex["t_threshold"]], colors=["#0072B2"])
ax.set_xlabel(r"$\log_{10}(\mu_{\nu_e}/\mu_B)$")
ax.set_ylabel(r"$\log_{10}(\mu_{\nu_\mu}/\mu_B)$")
ax.set_title("CsI 2017: excluded (shaded)")
plt.show()

# %% [markdown]
# `z=1.645` is the two-sided normal quantile of 90 % (the convention of `exclusion`:
# $p = 2[1-\Phi(Z)]$).
#
# ## 4. The scalar, briefly
#
# The same two lines constrain a universal scalar of mass `ms_mev` and coupling `gs`
# ($Q_S = g_S^2(14A + 1.1Z)$, [Models](../physics/models.md)):

# %%
ps = Problem(like, "scalar", poi=["gs"], fixed={"ms_mev": 10.0})
ivs = profile_interval(ps, delta=2.706)
print(f"g_S < {ivs['upper_limit']:.3g} at m_S = 10 MeV (90 % CL, Wilks)" if ivs.get("upper_limit") else ivs["segments"])

# %%
print(f"run time: {time.perf_counter() - t_start:.1f} s")
