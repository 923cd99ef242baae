"""Benchmark: Bühlmann–Straub on 10,000 groups x 10 periods, side by side with peers.

Runs safeins (vectorised numpy), a naive one-group-at-a-time Python implementation, the Python
package ``actuarcredibility`` (if installed in /work/bench-venv) and R's actuar ``cm`` (if
``Rscript`` and actuar are installed, e.g. Debian's r-cran-actuar). Each peer is timed inside its
own process (fit only, data already in memory); premiums are compared with safeins'. Also a
two-level hierarchical fit (100 sectors x 10,000 enterprises) against actuar.

Usage::

    python benchmarks/bench_credibility.py [--groups 10000] [--periods 10] [--repeat 5]

Writes benchmarks/results/credibility.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from safeins.models.credibility import BuhlmannStraub, HierarchicalCredibility

HERE = Path(__file__).resolve().parent
BENCH_PY = Path(os.environ.get("SAFEINS_BENCH_VENV", "/work/bench-venv")) / "bin" / "python"


def make_data(n_groups: int, n_periods: int, seed: int = 2025) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    risk = rng.gamma(4.0, 0.25, n_groups)
    expo = rng.uniform(10, 500, (n_groups, n_periods))
    rate = rng.gamma(expo / 20, risk[:, None] * 20 / expo)
    return pd.DataFrame({
        "sector": np.repeat(np.arange(n_groups) % 100, n_periods),
        "group": np.repeat(np.arange(n_groups), n_periods),
        "period": np.tile(np.arange(n_periods), n_groups),
        "value": rate.ravel(), "weight": expo.ravel(),
    })


def best_of(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def naive(df: pd.DataFrame) -> pd.Series:
    """Textbook Bühlmann–Straub, one group at a time in Python."""
    stats = []
    s_num, dof = 0.0, 0
    for g, sub in df.groupby("group", sort=True):
        w = sub["weight"].to_numpy()
        x = sub["value"].to_numpy()
        wi = w.sum()
        xi = (w * x).sum() / wi
        s_num += (w * (x - xi) ** 2).sum()
        dof += len(x) - 1
        stats.append((g, wi, xi))
    s2 = s_num / dof
    labels = [s[0] for s in stats]
    wi = np.array([s[1] for s in stats])
    xi = np.array([s[2] for s in stats])
    xw = (wi * xi).sum() / wi.sum()
    a = wi.sum() * ((wi * (xi - xw) ** 2).sum() - (len(wi) - 1) * s2) / (
        wi.sum() ** 2 - (wi**2).sum())
    z = np.array([w_ / (w_ + s2 / a) for w_ in wi])
    m = (z * xi).sum() / z.sum()
    return pd.Series(m + z * (xi - m), index=labels)


PEER_PY = """
import json, sys, time
import pandas as pd
from actuarcredibility import BuhlmannStraubModel
df = pd.read_csv(sys.argv[1])
times = []
for _ in range(int(sys.argv[3])):
    t0 = time.perf_counter()
    m = BuhlmannStraubModel().fit(df, group_col="group", observation_col="value",
                                  weight_col="weight")
    prem = m.credibility_premium()
    times.append(time.perf_counter() - t0)
prem.to_frame("premium").to_csv(sys.argv[2], float_format="%.17g")
print(json.dumps({"seconds": min(times)}))
"""

PEER_R = """
suppressMessages(library(actuar))
args <- commandArgs(trailingOnly = TRUE)
ratios <- as.matrix(read.csv(args[1], header = FALSE))
weights <- as.matrix(read.csv(args[2], header = FALSE))
sector <- read.csv(args[3], header = FALSE)[[1]]
rep <- as.integer(args[5])
X <- data.frame(group = seq_len(nrow(ratios)), ratios, weights)
np <- ncol(ratios)
names(X) <- c("group", paste0("r", 1:np), paste0("w", 1:np))
best <- function(expr_fun) { t <- Inf; for (i in seq_len(rep)) {
  s <- system.time(res <- expr_fun())[["elapsed"]]; t <- min(t, s) }; list(t = t, res = res) }
bs <- best(function() { f <- cm(~group, X, ratios = r1:r10, weights = w1:w10); predict(f) })
it <- best(function() { f <- cm(~group, X, ratios = r1:r10, weights = w1:w10,
                                method = "iterative"); predict(f) })
XH <- cbind(sector = sector, X)
hi <- best(function() { f <- cm(~sector + sector:group, XH, ratios = r1:r10, weights = w1:w10,
                                method = "iterative"); predict(f)$group })
write.csv(data.frame(bs = bs$res, it = it$res, hi = hi$res), args[4], row.names = FALSE)
cat(sprintf('{"bs": %f, "iterative": %f, "hierarchical": %f, "version": "%s"}\\n',
            bs$t, it$t, hi$t, as.character(packageVersion("actuar"))))
"""


def run_peer_python(df, tmp: Path, repeat: int):
    if not BENCH_PY.exists():
        return None
    chk = subprocess.run([str(BENCH_PY), "-c", "import actuarcredibility"], capture_output=True)
    if chk.returncode != 0:
        return None
    src, out = tmp / "long.csv", tmp / "peer.csv"
    df.to_csv(src, index=False, float_format="%.17g")
    script = tmp / "peer.py"
    script.write_text(PEER_PY)
    proc = subprocess.run([str(BENCH_PY), str(script), str(src), str(out), str(repeat)],
                          capture_output=True, text=True, check=True)
    ver = subprocess.run([str(BENCH_PY), "-c",
                          "import actuarcredibility as a; print(a.__version__)"],
                         capture_output=True, text=True).stdout.strip()
    return json.loads(proc.stdout)["seconds"], pd.read_csv(out)["premium"], ver


def run_actuar(df, tmp: Path, repeat: int, n_periods: int):
    if shutil.which("Rscript") is None or n_periods != 10:
        return None
    chk = subprocess.run(["Rscript", "-e", "library(actuar)"], capture_output=True)
    if chk.returncode != 0:
        return None
    wide = df.pivot(index="group", columns="period", values="value")
    wts = df.pivot(index="group", columns="period", values="weight")
    sector = df.groupby("group")["sector"].first()
    paths = [tmp / n for n in ("ratios.csv", "weights.csv", "sector.csv", "out.csv")]
    wide.to_csv(paths[0], header=False, index=False, float_format="%.17g")
    wts.to_csv(paths[1], header=False, index=False, float_format="%.17g")
    sector.to_csv(paths[2], header=False, index=False)
    script = tmp / "peer.R"
    script.write_text(PEER_R)
    proc = subprocess.run(["Rscript", str(script), *map(str, paths), str(repeat)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1]), pd.read_csv(paths[3])


def rel_diff(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.abs(b)))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", type=int, default=10_000)
    ap.add_argument("--periods", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "credibility.md")
    args = ap.parse_args(argv)

    df = make_data(args.groups, args.periods)
    n_obs = len(df)
    kw = dict(group="group", value="value", weight="weight")
    t_bg, bg = best_of(lambda: BuhlmannStraub().fit(df, **kw), args.repeat)
    t_it, it = best_of(lambda: BuhlmannStraub(estimator="iterative").fit(df, **kw), args.repeat)
    t_hi, hi = best_of(lambda: HierarchicalCredibility(["sector", "group"], method="iterative")
                       .fit(df, value="value", weight="weight"), args.repeat)
    hi_prem = hi.premiums_["group"].droplevel("sector").sort_index()
    t_nv, nv = best_of(lambda: naive(df), 1)

    rows = [
        ("safeins BuhlmannStraub (buhlmann-gisler)", t_bg, "reference", ""),
        ("safeins BuhlmannStraub (iterative)", t_it, "reference", f"{it.n_iter_} iterations"),
        ("naive Python loop over groups (buhlmann-gisler)", t_nv,
         f"{rel_diff(nv, bg.premiums_):.1e}", "pandas groupby + per-group numpy"),
    ]
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        peer = run_peer_python(df, tmp, args.repeat)
        if peer is not None:
            t_pp, prem_pp, ver = peer
            rows.append((f"actuarcredibility {ver} BuhlmannStraubModel", t_pp,
                         f"{rel_diff(prem_pp, bg.premiums_):.1e}", "Python peer (PyPI)"))
        act = run_actuar(df, tmp, args.repeat, args.periods)
        if act is not None:
            times, prem = act
            rows.append((f"R actuar {times['version']} cm(~group) (Buhlmann-Gisler)", times["bs"],
                         f"{rel_diff(prem['bs'], bg.premiums_):.1e}", "timed inside R"))
            rows.append((f"R actuar {times['version']} cm(~group, method='iterative')",
                         times["iterative"], f"{rel_diff(prem['it'], it.premiums_):.1e}",
                         "timed inside R"))
    rows.append(("safeins HierarchicalCredibility sector > group (iterative)", t_hi, "reference",
                 f"{hi.n_iter_} iterations, 100 sectors"))
    if act is not None:
        rows.append((f"R actuar {times['version']} cm(~sector + sector:group, iterative)",
                     times["hierarchical"], f"{rel_diff(prem['hi'], hi_prem):.1e}",
                     "timed inside R"))

    head = (f"Bühlmann–Straub on {args.groups:,} groups x {args.periods} periods "
            f"({n_obs:,} rows), best of {args.repeat}")
    table = ["| implementation | seconds | max rel. diff of premiums vs safeins | note |",
             "| --- | ---: | ---: | --- |"]
    table += [f"| {n} | {t:.4f} | {d} | {note} |" for n, t, d, note in rows]
    print(head)
    for line in table:
        print(line)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join([
        "# Credibility benchmark", "",
        head + ".", "",
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}. "
        "Timings on a shared, loaded machine are indicative; rerun on a quiet one.", "",
        *table, "",
        "Produced by `python benchmarks/bench_credibility.py`. The fit includes validation of "
        "every row and the groupby (factorize) of the long table. The naive loop is "
        "timed once.", "",
    ]))
    print(f"wrote {args.out}")


def run(quick: bool = False) -> None:
    """Entry point of benchmarks/run.py."""
    main(["--repeat", "1"] if quick else [])


if __name__ == "__main__":
    main()
