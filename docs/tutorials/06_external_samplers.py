# %% [markdown]
# # Tutorial 6: sampling a cevnsfit posterior with emcee
#
# cevnsfit computes posteriors itself (a grid, or nested sampling with UltraNest or dynesty),
# but you may want the sampler you already use. `Analysis.log_density()` gives the posterior as
# a plain function of a named, bounded vector, with the model's declared priors; see
# [External samplers](../samplers.md) for bilby and cobaya.
#
# Here: the effective magnetic moment of the muon neutrino, $\mu_{\nu_\mu}$, from CsI 2017 and
# CENNS-10. Its declared prior is log-uniform on $[10^{-11}, 10^{-7}]\,\mu_B$, so the sampled
# variable is $x = \log_{10}(\mu_{\nu_\mu}/\mu_B)$ with a flat prior on $[-11, -7]$.
#
# Run time: about 15 s on 2 cores.

# %%
# %matplotlib inline
import time

import emcee
import matplotlib.pyplot as plt
import numpy as np

import cevnsfit

t_start = time.perf_counter()

analysis = cevnsfit.Analysis("csi2017,cenns10", "magnetic-moment", poi="mu_numu")
density = analysis.log_density()
density, density.names, density.bounds

# %% [markdown]
# The density takes one point (shape `(d,)`) or a batch (shape `(n, d)`): emcee's
# `vectorize=True` hands it all walkers of a half-step at once, and cevnsfit evaluates them in
# one vectorised likelihood call. Points outside the prior box get $-\infty$.

# %%
print(density(np.array([-9.5])), density(np.array([[-10.0], [-9.0], [-6.0]])))

n_walkers, n_steps, burn = 32, 1500, 300
sampler = emcee.EnsembleSampler(n_walkers, density.ndim, density, vectorize=True)
sampler.random_state = np.random.RandomState(1).get_state()  # reproducible
sampler.run_mcmc(density.sample_prior(n_walkers, rng=1), n_steps, progress=False)
tau = float(sampler.get_autocorr_time(discard=burn, tol=0)[0])
chain = sampler.get_chain(discard=burn, flat=True)[:, 0]
print(f"integrated autocorrelation time {tau:.1f} steps; effective samples {chain.size / tau:.0f}")

# %% [markdown]
# ## Against the grid posterior
#
# The same posterior by quadrature on a grid (`analysis.posterior()`), and its 90 % upper
# edge, the 0.9 quantile of $x$. The Monte Carlo error of a sample quantile is
# $\sqrt{q(1-q)/N_\mathrm{eff}}\,/\,p(x_q)$ with $N_\mathrm{eff}$ the number of samples divided by
# the autocorrelation time.

# %%
post = analysis.posterior(n_grid=4001)
x, dens = np.array(post["grid"]), np.array(post["density"])
cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(x))])
cdf /= cdf[-1]
edge_grid = float(np.interp(0.9, cdf, x))
edge_mc = float(np.quantile(chain, 0.9))
sigma = np.sqrt(0.9 * 0.1 / (chain.size / tau)) / np.interp(edge_grid, x, dens)
print(f"90 % upper edge of log10 mu: grid {edge_grid:.3f}, emcee {edge_mc:.3f} +- {sigma:.3f}")
print(f"i.e. mu_numu < {10**edge_grid:.2e} mu_B (90 % credible, log-uniform prior from 1e-11 mu_B)")

fig, ax = plt.subplots(figsize=(6, 3.8))
ax.hist(chain, bins=80, density=True, alpha=0.5, label="emcee")
ax.plot(x, dens, color="k", label="grid")
ax.axvline(edge_grid, color="C3", ls="--", label="90 % upper edge (grid)")
ax.set_xlabel(r"$\log_{10}(\mu_{\nu_\mu}/\mu_B)$")
ax.set_ylabel("posterior density")
ax.legend()
plt.show()

# %% [markdown]
# The lower part of the posterior is a plateau: for $\mu \lesssim 10^{-10}\,\mu_B$ the data cannot
# tell the moment from zero, so a credible upper edge depends on where the prior starts (a
# profile-likelihood limit, `analysis.interval(delta=2.706)`, does not).

# %%
print(f"run time {time.perf_counter() - t_start:.0f} s")
