"""Where the shipped data lives.

``pricing/`` and ``datasets/`` sit at the top of the repository and are copied into the wheel as
``safeins/_data/``. In an installed wheel they are found through :mod:`importlib.resources`; in a
source checkout (editable install, or ``PYTHONPATH=src``) the repository's own folders are used.

>>> (data_dir("pricing") / "regimes").is_dir()
True
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["data_dir", "shipped_toml"]


def data_dir(name: str) -> Path:
    """The folder ``pricing`` or ``datasets``, wherever this installation keeps it."""
    if name not in ("pricing", "datasets"):
        raise ValueError(f"unknown data folder {name!r}; allowed: 'pricing', 'datasets'")
    packaged = Path(str(resources.files("safeins"))) / "_data" / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / name  # src/safeins/_base/ -> repository
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"safeins data folder {name!r} not found (looked in {packaged} and {checkout}); "
        "the installation is incomplete"
    )


def shipped_toml(kind: str, name: str | Path, what: str) -> Path:
    """The TOML file ``pricing/<kind>/<name>.toml``, or ``name`` itself when it is a TOML path.

    An unknown name raises one ValidationError listing the shipped names; a missing path says so.

    >>> shipped_toml("floating", "fuyang", "FloatingRule.load").name
    'fuyang.toml'
    """
    from ..errors import Problem, ValidationError

    path = Path(name)
    if path.suffix == ".toml" or path.is_file():
        if not path.is_file():
            raise ValidationError(what, [Problem(None, "path", str(path), "file not found")])
        return path
    folder = data_dir("pricing") / kind
    path = folder / f"{name}.toml"
    if not path.is_file():
        shipped = sorted(p.stem for p in folder.glob("*.toml"))
        raise ValidationError(what, [Problem(None, "name", str(name),
                                             f"not shipped; shipped: {', '.join(shipped)}")])
    return path
