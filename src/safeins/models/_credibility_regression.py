"""Hachemeister's credibility regression model (actuar's ``cm(~group, regformula = ~time)``).

Each group's values follow a weighted regression on a polynomial in time; the credibility
coefficients blend each group's least-squares coefficients ``b_i`` with the collective ones:
``beta_i = beta + Z_i (b_i - beta)``, ``Z_i = A (A + s^2 (X'W_iX)^{-1})^{-1}``.

Two parametrisations, as actuar:

- ``intercept="origin"`` (Hachemeister 1975): the between-group covariance ``A`` is a full matrix
  estimated by the iterative procedure of Goovaerts & Hoogstad (1987), stopping on the collective
  coefficients. The credibility line need not lie between the individual and collective lines.
- ``intercept="barycentre"`` (Bühlmann & Gisler 2005, section 8.4): the design is orthogonalised
  with the collective weights of each period, so ``X'W_iX`` is nearly diagonal and every
  coefficient gets its own Bühlmann–Straub credibility factor (unbiased estimator clamped at 0, or
  Bichsel–Straub iterative).

Everything is vectorised over groups: per-group normal equations are built with
:func:`numpy.bincount` and solved as one batched :func:`numpy.linalg.solve`.

>>> import pandas as pd, safeins._base.resources as r
>>> hache = pd.read_csv(r.data_dir("datasets") / "hachemeister.csv")
>>> hr = HachemeisterRegression().fit(hache, group="state", value="ratio", weight="weight",
...                                   time="quarter")
>>> hr.predict(13).round(0).tolist()
[2437.0, 1651.0, 2073.0, 1507.0, 1759.0]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from safeins.errors import ConvergenceError, Problems
from safeins.models._credibility_base import CredibilityEstimator, check_iteration, warn_clamp
from safeins.models._credibility_data import prepare_long

__all__ = ["HachemeisterRegression"]

_TOL = float(np.sqrt(np.finfo(float).eps))
INTERCEPTS = ("origin", "barycentre")


def _basis_name(j: int) -> str:
    return "level" if j == 0 else f"orth{j}"


def _design(t: np.ndarray, p: int) -> np.ndarray:
    return np.vander(np.asarray(t, dtype=float), p, increasing=True)


def _group_wls(g, n_groups, x, y, w):
    """Per-group weighted least squares: coefficients, X'WX and the residual variance."""
    p = x.shape[1]
    m = np.empty((n_groups, p, p))
    v = np.empty((n_groups, p))
    for r in range(p):
        v[:, r] = np.bincount(g, w * x[:, r] * y, minlength=n_groups)
        for c in range(r, p):
            m[:, r, c] = m[:, c, r] = np.bincount(g, w * x[:, r] * x[:, c], minlength=n_groups)
    coef = np.linalg.solve(m, v[..., None])[..., 0]
    resid = y - np.einsum("ij,ij->i", x, coef[g])
    n = np.bincount(g, minlength=n_groups)
    sigma2 = np.bincount(g, w * resid**2, minlength=n_groups) / (n - p)
    return coef, m, sigma2


def _unbiased(x, w, s2):
    ws = w.sum()
    xw = np.dot(w, x) / ws
    return ws * (np.dot(w, (x - xw) ** 2) - (len(x) - 1) * s2) / (ws**2 - np.dot(w, w))


def _bichsel_straub(x, w, s2, start, tol, maxit):
    a = start
    for _ in range(maxit):
        z = 1.0 / (1.0 + s2 / (w * a))
        xz = np.dot(z, x) / z.sum()
        new = np.dot(z, (x - xz) ** 2) / (len(x) - 1)
        if abs((new - a) / a) < tol:
            return new
        a = new
    raise ConvergenceError(
        f"HachemeisterRegression: the Bichsel–Straub iteration did not converge in {maxit} "
        f"iterations (between variance now {a:.6g}); raise maxit or use "
        "method='buhlmann-gisler'")


class HachemeisterRegression(CredibilityEstimator):
    """Credibility regression on time (Hachemeister 1975), intercept at the origin or at the
    barycentre of time.

    Parameters
    ----------
    intercept : {"origin", "barycentre"}
        ``"origin"`` is Hachemeister's original model (actuar's default); ``"barycentre"`` is
        actuar's ``adj.intercept = TRUE`` (Bühlmann & Gisler 2005, section 8.4), whose
        predictions stay between the individual and collective lines.
    method : {"buhlmann-gisler", "iterative"} or None
        Between-variance estimator for ``"barycentre"`` (default ``"buhlmann-gisler"``, the
        unbiased estimator clamped at 0). ``"origin"`` supports only ``"iterative"`` (the full
        covariance matrix has no unbiased estimator here; actuar does the same).
    degree : int
        Degree of the polynomial in time (1: a straight line).

    Attributes
    ----------
    coefficients_ : DataFrame
        Credibility coefficients by group, on the original polynomial basis (1, t, t^2, ...).
    individual_coefficients_ : DataFrame
        Each group's own weighted least-squares coefficients (same basis).
    collective_coefficients_ : Series
    credibility_ : ndarray, shape (groups, p, p)
        Credibility matrices ``Z_i`` in the fitting basis (orthogonal basis for "barycentre").
    between_variance_ : ndarray (p, p)
        ``A`` in the fitting basis; ``within_variance_`` is ``s^2``.
    transition_ : ndarray or None
        For "barycentre", ``R`` with original-basis coefficients = ``solve(R, fitting-basis)``.

    Examples
    --------
    Hachemeister's data, predicting quarter 13 (actuar's vignette prints 2437 1651 2073 1507 1759):

    >>> import safeins as si
    >>> h = si.datasets.load("hachemeister")
    >>> m = si.HachemeisterRegression().fit(h, group="state", value="ratio", weight="weight", time="quarter")
    >>> m.predict(13).round(0).tolist()
    [2437.0, 1651.0, 2073.0, 1507.0, 1759.0]
    """

    _fitted_attr = "coefficients_"

    def __init__(self, intercept: str = "origin", method: str | None = None, degree: int = 1,
                 tol: float = _TOL, maxit: int = 100):
        self.intercept = intercept
        self.method = method
        self.degree = degree
        self.tol = tol
        self.maxit = maxit
        self._check_params()

    def _check_params(self) -> str:
        """The resolved method, after checking every parameter (one error naming each bad one)."""
        p_ = Problems("HachemeisterRegression")
        ok_intercept = isinstance(self.intercept, str) and self.intercept in INTERCEPTS
        p_.check(ok_intercept, column="intercept", value=self.intercept,
                 rule=f"one of {', '.join(INTERCEPTS)}")
        method = self._resolved_method() if ok_intercept else self.method
        allowed = ("iterative",) if self.intercept == "origin" else ("buhlmann-gisler", "iterative")
        p_.check(isinstance(method, str) and method in allowed, column="method", value=self.method,
                 rule=f"with intercept={self.intercept!r}: one of {', '.join(allowed)} or None")
        p_.check(isinstance(self.degree, int | np.integer) and not isinstance(self.degree, bool)
                 and self.degree >= 1, column="degree", value=self.degree, rule="an integer >= 1")
        check_iteration(p_, self.tol, self.maxit)
        p_.raise_if_any()
        return method

    def _resolved_method(self) -> str:
        if self.method is not None:
            return self.method
        return "iterative" if self.intercept == "origin" else "buhlmann-gisler"

    def fit(self, data: pd.DataFrame, group: str, value: str, weight: str | None = None,
            time: str = "time"):
        """Fit on a long table: one row per group and time point."""
        method = self._check_params()
        p = self.degree + 1
        prep = prepare_long(data, levels=[group], value=value, weight=weight, period=time,
                            what="HachemeisterRegression", min_periods=p + 1,
                            extra_numeric=(time,))
        g = prep.codes[0]
        labels = prep.labels[0]
        n_groups = len(labels)
        t, y, w = prep.extra[time], prep.value, prep.weight

        if self.intercept == "origin":
            x = _design(t, p)
            transition = None
        else:
            times, t_idx = np.unique(t, return_inverse=True)
            wt = np.bincount(t_idx, w) / w.sum()
            q, r = np.linalg.qr(_design(times, p) * np.sqrt(wt)[:, None])
            # Positive diagonal: the first basis function is then 1 and its coefficient is the
            # level at the barycentre of time (actuar's R has the opposite sign; predictions agree).
            sign = np.sign(np.diag(r))
            q, transition = q * sign, r * sign[:, None]
            x = (q / np.sqrt(wt)[:, None])[t_idx]

        self._t_mean = float(np.average(t, weights=w))
        ind, xtwx, sigma2 = _group_wls(g, n_groups, x, y, w)
        s2 = float(np.mean(sigma2))

        if self.intercept == "origin":
            coll, a_mat, cred, n_iter = self._origin(ind, xtwx, s2)
        else:
            coll, a_mat, cred, n_iter = self._barycentre(ind, xtwx, s2, method, group)
        adj = coll + np.einsum("gij,gj->gi", cred, ind - coll)

        terms = ["intercept", "time"] + [f"time^{d}" for d in range(2, p)]
        to_orig = (lambda b: b) if transition is None else (
            lambda b: np.linalg.solve(transition, b.T).T)
        self.group_, self.time_ = group, time
        self.time_range_ = (float(t.min()), float(t.max()))
        self.basis_terms_ = terms if transition is None else [_basis_name(j) for j in range(p)]
        self.terms_ = terms
        self.transition_ = transition
        self.within_variance_ = s2
        self.between_variance_ = a_mat
        self.credibility_ = cred
        self.n_iter_ = n_iter
        self.fit_basis_coefficients_ = pd.DataFrame(adj, index=labels, columns=self.basis_terms_)
        self.individual_coefficients_ = pd.DataFrame(to_orig(ind), index=labels, columns=terms)
        self.collective_coefficients_ = pd.Series(to_orig(coll[None, :])[0], index=terms,
                                                  name="collective")
        self.weights_ = pd.Series(np.bincount(g, w, minlength=n_groups), index=labels,
                                  name="weight")
        self.coefficients_ = pd.DataFrame(to_orig(adj), index=labels, columns=terms)
        return self

    def _origin(self, ind, xtwx, s2):
        n_groups, p = ind.shape
        winv = np.linalg.inv(xtwx)
        cred = np.broadcast_to(np.eye(p), (n_groups, p, p)).copy()
        coll = ind.mean(axis=0)

        def between(cred, coll):
            d = ind - coll
            a = np.einsum("gij,gj,gk->ik", cred, d, d) / (n_groups - 1)
            return (a + a.T) / 2

        it = 0
        while True:
            it += 1
            if it > self.maxit:
                raise ConvergenceError(
                    f"HachemeisterRegression: the iterative estimation of the between covariance "
                    f"did not converge in {self.maxit} iterations (collective coefficients now "
                    f"{coll.tolist()}); raise maxit, measure time from a nearby origin "
                    f"(the data's time is around {self._t_mean:.6g}) or use "
                    "intercept='barycentre'")
            coll_prev = coll
            a = between(cred, coll)
            cred = a @ np.linalg.inv(a + s2 * winv)
            coll = np.linalg.solve(cred.sum(axis=0), np.einsum("gij,gj->i", cred, ind))
            if np.max(np.abs((coll - coll_prev) / coll_prev)) < self.tol:
                break
        a = between(cred, coll)
        cred = a @ np.linalg.inv(a + s2 * winv)
        return coll, a, cred, it

    def _barycentre(self, ind, xtwx, s2, method, group):
        n_groups, p = ind.shape
        wdiag = np.einsum("gii->gi", xtwx)
        a_mat = np.zeros((p, p))
        cred = np.zeros((n_groups, p, p))
        coll = np.zeros(p)
        for j in range(p):
            wj, bj = wdiag[:, j], ind[:, j]
            a = _unbiased(bj, wj, s2)
            if a < 0:
                warn_clamp("HachemeisterRegression", f"{group} ({_basis_name(j)})", a)
                a = 0.0
            if method == "iterative" and a > 0:
                a = _bichsel_straub(bj, wj, s2, a, self.tol, self.maxit)
            a_mat[j, j] = a
            if a > 0:
                z = 1.0 / (1.0 + s2 / (wj * a))
                cred[:, j, j] = z
                coll[j] = np.dot(z, bj) / z.sum()
            else:
                coll[j] = np.dot(wj, bj) / wj.sum()
        return coll, a_mat, cred, 0

    def predict(self, time, groups=None):
        """Credibility premiums at ``time`` (scalar -> Series by group; array -> DataFrame with
        one column per time)."""
        self._check_fitted()
        scalar = np.ndim(time) == 0
        tt = np.atleast_1d(np.asarray(time, dtype=float))
        coef = self.coefficients_ if groups is None else self.coefficients_.loc[
            list(np.atleast_1d(groups))]
        pred = coef.to_numpy() @ _design(tt, coef.shape[1]).T
        if scalar:
            return pd.Series(pred[:, 0], index=coef.index, name="premium")
        return pd.DataFrame(pred, index=coef.index, columns=pd.Index(tt, name=self.time_))

    def to_frame(self) -> pd.DataFrame:
        """Per group: weight, individual and credibility coefficients (original basis)."""
        self._check_fitted()
        ind = self.individual_coefficients_.add_prefix("individual_")
        cre = self.coefficients_.add_prefix("credibility_")
        return pd.concat([self.weights_, ind, cre], axis=1)

    def summary(self) -> str:
        """A readable report like actuar's ``summary(cm(~state, regformula = ~time))``."""
        self._check_fitted()
        where = "origin" if self.transition_ is None else "barycentre of time"
        coll = ", ".join(f"{k} {v:,.4f}" for k, v in self.collective_coefficients_.items())
        a = pd.DataFrame(self.between_variance_, index=self.basis_terms_,
                         columns=self.basis_terms_)
        lines = [f"Hachemeister credibility regression  (intercept at the {where}, method: "
                 f"{self._resolved_method()})", "", "Structure parameters",
                 f"  collective coefficients      {coll}",
                 f"  within {self.group_} variance s^2   {self.within_variance_:,.6g}",
                 "  between covariance A (fitting basis):",
                 a.to_string(float_format=lambda v: f"{v:,.6g}"), "", "Coefficients by group",
                 self.to_frame().to_string(float_format=lambda v: f"{v:,.4f}")]
        return "\n".join(lines)

    def plot(self, ax=None, groups=None):
        """Credibility lines by group over the fitted time range."""
        from safeins._base.plotting import axes

        self._check_fitted()
        ax = axes(ax)
        lo, hi = self.time_range_
        tt = np.linspace(lo, hi, 50)
        pred = self.predict(tt, groups=groups)
        coll = _design(tt, len(self.terms_)) @ self.collective_coefficients_.to_numpy()
        for g, row in pred.iterrows():
            ax.plot(tt, row.to_numpy(), label=str(g))
        ax.plot(tt, coll, linestyle="--", color="black", label="collective")
        ax.set_xlabel(str(self.time_))
        ax.legend()
        return ax
