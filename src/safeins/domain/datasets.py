"""Data sets shipped with safeins, and the synthetic portfolio generator.

>>> import safeins as si
>>> si.datasets.list()
['hachemeister', 'national-statistics', 'zhejiang-pilot']
>>> data = si.datasets.synthetic_portfolio(n_enterprises=500, years=(2021, 2022), seed=1)
>>> len(data.portfolio), sorted(data.accidents.to_frame()["year"].unique().tolist())
(500, [2021, 2022])

``zhejiang-pilot`` is a fixed synthetic data set for the 11 cities of Zhejiang (Ningbo alone with
78,200 enterprises, the number Ningbo rated on its A/B/C/D safety-credit scale), five years of
history. It is generated deterministically from a fixed seed and checked against the checksums in
``datasets/zhejiang-pilot.toml``, so it is identical on every machine; a mismatch (a numpy that draws
different random streams) raises rather than hand back different data.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import replace
from functools import lru_cache

import numpy as np
import pandas as pd

from .._base.resources import data_dir
from ..errors import Problem, SafeinsError, ValidationError
from ._synthetic import DEFAULT_RELATIVITIES, DEFAULT_SECTORS, SectorProfile, SyntheticConfig, SyntheticData
from ._synthetic import generate as _generate

__all__ = [
    "DEFAULT_RELATIVITIES",
    "DEFAULT_SECTORS",
    "SectorProfile",
    "SyntheticConfig",
    "SyntheticData",
    "example_accident_frame",
    "example_portfolio_frame",
    "list",
    "load",
    "load_accidents",
    "load_hazards",
    "load_portfolio",
    "synthetic_portfolio",
    "zhejiang_config",
]

_builtin_list = list
_NAMES = ("hachemeister", "national-statistics", "zhejiang-pilot")


def list() -> _builtin_list[str]:
    """Names of the shipped data sets."""
    return _builtin_list(_NAMES)


def synthetic_portfolio(n_enterprises: int = 10_000, years=(2019, 2020, 2021, 2022, 2023),
                        regions=("region_1", "region_2", "region_3"), seed=None, **options) -> SyntheticData:
    """Generate a synthetic portfolio, accident history and hazard records, with the truth.

    Every parameter of :class:`SyntheticConfig` can be passed by name (sector profiles, true
    relativities, hazard effect, trend, ...). Returns :class:`SyntheticData` with ``portfolio``,
    ``accidents``, ``hazards`` and ``truth`` (the true base rates, relativities, frailties and
    expected accidents), so fitted models can be checked against what generated the data.

    >>> d = synthetic_portfolio(n_enterprises=200, years=(2023,), seed=3)
    >>> d.truth["relativities"]["credit_grade"]["D"]
    1.7
    """
    config = SyntheticConfig(n_enterprises=n_enterprises, years=tuple(years), regions=tuple(regions),
                             **options)
    return _generate(config, seed)


# ----------------------------------------------------------------------------- zhejiang-pilot
def _manifest() -> dict:
    with open(data_dir("datasets") / "zhejiang-pilot.toml", "rb") as fh:
        return tomllib.load(fh)


def zhejiang_config() -> tuple[SyntheticConfig, int]:
    """The generator configuration and seed of ``zhejiang-pilot`` (from its manifest).

    The manifest's ``[sector_shares]`` replace the generic sector mix (Zhejiang has no coal mines
    and almost no fireworks makers); the sector profiles are otherwise the generator's defaults.

    >>> config, seed = zhejiang_config()
    >>> config.n_enterprises, config.sectors["coal_mining"].share
    (124096, 0.0001)
    """
    m = _manifest()
    cities = m["cities"]
    shares = m.get("sector_shares", {})
    unknown = sorted(set(shares) - set(DEFAULT_SECTORS))
    missing = sorted(set(DEFAULT_SECTORS) - set(shares)) if shares else []
    if unknown or missing:
        raise ValidationError("zhejiang-pilot.toml [sector_shares]", [
            *(Problem(None, code, shares[code], "not a sector of the generator") for code in unknown),
            *(Problem(None, code, None, "required: one share per sector") for code in missing)])
    sectors = {code: replace(profile, share=float(shares.get(code, profile.share)))
               for code, profile in DEFAULT_SECTORS.items()}
    return (
        SyntheticConfig(
            n_enterprises=int(sum(c["enterprises"] for c in cities)),
            years=tuple(m["years"]),
            regions=tuple(c["name"] for c in cities),
            region_sizes=tuple(float(c["enterprises"]) for c in cities),
            sectors=sectors,
        ),
        int(m["seed"]),
    )


def _checksum(frame: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(frame.astype({c: object for c in frame.columns
                                                      if isinstance(frame[c].dtype, pd.CategoricalDtype)}),
                                        index=True).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]


@lru_cache(maxsize=1)
def _zhejiang() -> SyntheticData:
    config, seed = zhejiang_config()
    data = _generate(config, seed, id_prefix="ZJ")
    expected = _manifest().get("checksums", {})
    got = {name: _checksum(getattr(data, name).frame) for name in ("portfolio", "accidents", "hazards")}
    bad = [Problem(None, name, got[name], f"checksum must be {expected[name]} (the released data)")
           for name in got if name in expected and expected[name] != got[name]]
    if bad:
        raise SafeinsError(
            "zhejiang-pilot: the regenerated data differ from the released data set "
            f"({ValidationError('checksums', bad)}). This numpy ({np.__version__}) draws different "
            "random streams than the release; use safeins.domain.datasets.synthetic_portfolio for fresh data."
        )
    return data


def _check_name(name: str, allowed=("zhejiang-pilot",)) -> None:
    if name not in allowed:
        raise ValidationError("datasets", [Problem(None, "name", name, f"one of {', '.join(allowed)}")])


def load_portfolio(name: str = "zhejiang-pilot"):
    """The :class:`~safeins.domain.portfolio.Portfolio` of a shipped data set."""
    _check_name(name)
    return _zhejiang().portfolio


def load_accidents(name: str = "zhejiang-pilot"):
    """The :class:`~safeins.domain.portfolio.AccidentHistory` of a shipped data set (with victims)."""
    _check_name(name)
    return _zhejiang().accidents


def load_hazards(name: str = "zhejiang-pilot"):
    """The :class:`~safeins.domain.portfolio.HazardHistory` of a shipped data set."""
    _check_name(name)
    return _zhejiang().hazards


def load(name: str):
    """Load a shipped data set by name.

    ``hachemeister`` and ``national-statistics`` are DataFrames; ``zhejiang-pilot`` is
    :class:`SyntheticData` (portfolio, accidents, hazards, truth).

    >>> load("hachemeister").shape
    (60, 4)
    >>> load("national-statistics").columns.tolist()[:4]
    ['table', 'year', 'sector', 'measure']
    """
    _check_name(name, _NAMES)
    if name == "zhejiang-pilot":
        return _zhejiang()
    frame = pd.read_csv(data_dir("datasets") / f"{name}.csv", encoding="utf-8")
    return frame


# ----------------------------------------------------------------------------- tiny examples
def example_portfolio_frame() -> pd.DataFrame:
    """A three-enterprise portfolio frame for examples and tests.

    >>> example_portfolio_frame().index.tolist()
    ['E1', 'E2', 'E3']
    """
    return pd.DataFrame({
        "sector": ["mining", "construction", "transport"],
        "region": ["宁波", "杭州", "宁波"],
        "size_band": ["small", "medium", "small"],
        "headcount": [120, 300, 50],
        "payroll": [1.2e7, 2.7e7, 4.0e6],
        "revenue": [8.0e7, 4.0e8, 3.0e7],
        "contract_value": [np.nan, 5.0e7, np.nan],
        "vehicles": [np.nan, np.nan, 35.0],
        "vessels": [np.nan, np.nan, np.nan],
        "credit_grade": ["B", "A", "C"],
        "blacklisted": [False, False, False],
        "standardization": ["2", "1", "none"],
        "years_insured": [3, 5, 1],
        "award": ["none", "none", "none"],
    }, index=pd.Index(["E1", "E2", "E3"], name="enterprise_id"))


def example_accident_frame() -> pd.DataFrame:
    """Two accidents of the example portfolio (one 一般, one 较大).

    >>> example_accident_frame().shape
    (2, 11)
    """
    return pd.DataFrame({
        "enterprise_id": ["E1", "E3"], "year": [2022, 2023],
        "employee_deaths": [1, 2], "employee_serious_injuries": [0, 4], "employee_minor_injuries": [2, 1],
        "third_party_deaths": [0, 1], "third_party_injuries": [0, 2],
        "direct_loss": [1.5e6, 6.2e6], "property_damage": [0.0, 8.0e5], "rescue_cost": [2.0e4, 1.5e5],
        "amount_paid": [4.2e5, np.nan],
    }, index=pd.Index(["A1", "A2"], name="accident_id"))
