"""The sector registry: the industries 安责险 covers, their names, exposure bases and mandates.

Sector codes are snake_case English; every sector also has its Chinese and English names. The
mandatory sectors follow the national rules (see ``pricing/regimes/``): the nine of the 2017 rules
(coal and non-coal mines counted apart) and the eight of the 2025 rules (mines merged as ``mining``).
Each sector names its default *exposure base*, the quantity its rates are expressed per unit of.

>>> from safeins import sectors
>>> s = sectors.get("危险化学品")
>>> s.code, s.name_en, s.exposure_base
('hazardous_chemicals', 'Hazardous chemicals', 'headcount')
>>> sectors.get("coal_mining").parent
'mining'
>>> [s.code for s in sectors.mandatory("national-2025")][:3]
['mining', 'coal_mining', 'non_coal_mining']
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..errors import Problem, ValidationError

__all__ = ["EXPOSURE_BASES", "GRADES", "Sector", "all_sectors", "codes", "get", "mandatory"]

#: Exposure bases and the unit one unit of exposure stands for.
EXPOSURE_BASES: dict[str, str] = {
    "headcount": "person-year",
    "payroll": "yuan of annual payroll",
    "revenue": "yuan of annual revenue",
    "contract_value": "yuan of contract (project) value",
    "vehicles": "vehicle-year",
    "vessels": "vessel-year",
}

#: Accident grades of the 2007 State Council rules (国务院令第493号), mildest first.
GRADES: tuple[str, ...] = ("一般", "较大", "重大", "特别重大")


@dataclass(frozen=True)
class Sector:
    """One sector of the registry.

    Attributes
    ----------
    code : str
        Stable snake_case identifier used in every table.
    name_zh, name_en : str
        Chinese and English names.
    exposure_base : str
        One of :data:`EXPOSURE_BASES`: what the sector's rates are per unit of.
    mandatory_in : tuple of str
        Keys of the regimes under which cover is mandatory for the sector.
    parent : str or None
        The broader sector it belongs to (coal mines belong to ``mining`` under the 2025 rules).

    >>> get("fireworks").name_zh
    '烟花爆竹'
    """

    code: str
    name_zh: str
    name_en: str
    exposure_base: str
    mandatory_in: tuple[str, ...] = ()
    parent: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def exposure_unit(self) -> str:
        """What one unit of this sector's exposure base is."""
        return EXPOSURE_BASES[self.exposure_base]

    def is_mandatory(self, regime: str) -> bool:
        """Whether cover is mandatory for this sector under ``regime`` (a regime key)."""
        return regime in self.mandatory_in


_BOTH = ("national-2017", "national-2025")
_REGISTRY: tuple[Sector, ...] = (
    # 2025 第二条 lists 矿山 as one sector; 2017 第六条 listed 煤矿 and 非煤矿山 apart.
    Sector("mining", "矿山", "Mining", "headcount", ("national-2025",), aliases=("mines",)),
    Sector("coal_mining", "煤矿", "Coal mining", "headcount", _BOTH, parent="mining"),
    Sector("non_coal_mining", "非煤矿山", "Non-coal mining", "headcount", _BOTH, parent="mining"),
    Sector("hazardous_chemicals", "危险化学品", "Hazardous chemicals", "headcount", _BOTH,
           aliases=("chemicals", "危化品")),
    Sector("fireworks", "烟花爆竹", "Fireworks", "headcount", _BOTH),
    Sector("transport", "交通运输", "Transport", "vehicles", _BOTH, aliases=("transportation",)),
    Sector("construction", "建筑施工", "Construction", "contract_value", _BOTH),
    Sector("civil_explosives", "民用爆炸物品", "Civil explosives", "headcount", _BOTH,
           aliases=("民爆",)),
    Sector("metal_smelting", "金属冶炼", "Metal smelting", "headcount", _BOTH),
    Sector("fishing", "渔业生产", "Fishing", "vessels", _BOTH),
    # Not mandatory nationally; "encouraged" (2017 第六条). Rated per worker: the 2025 rules set the cover
    # per person (payroll and revenue remain alternatives, safeins.rating.tariff.ALTERNATIVE_BASES).
    Sector("manufacturing", "制造业", "Manufacturing", "headcount"),
    Sector("trade", "商贸", "Trade", "headcount", aliases=("commerce",)),
    Sector("other", "其他", "Other", "headcount"),
)
_BY_KEY: dict[str, Sector] = {}
for _s in _REGISTRY:
    for _k in (_s.code, _s.name_zh, _s.name_en.lower(), *_s.aliases):
        _BY_KEY[_k.lower()] = _s
# mining merges coal and non-coal mines: a 2025 mandate on mining covers its children
_REGISTRY = tuple(
    Sector(s.code, s.name_zh, s.name_en, s.exposure_base,
           tuple(sorted(set(s.mandatory_in) | ({"national-2025"} if s.parent == "mining" else set()))),
           s.parent, s.aliases)
    for s in _REGISTRY
)
_BY_KEY = {k: next(s for s in _REGISTRY if s.code == v.code) for k, v in _BY_KEY.items()}


def all_sectors() -> tuple[Sector, ...]:
    """Every sector in the registry, in registry order.

    >>> len(all_sectors()) >= 12
    True
    """
    return _REGISTRY


def codes() -> tuple[str, ...]:
    """The sector codes, in registry order.

    >>> "construction" in codes()
    True
    """
    return tuple(s.code for s in _REGISTRY)


def get(name: str) -> Sector:
    """Look a sector up by code, Chinese name, English name or alias (case-insensitive).

    An unknown name raises :class:`~safeins.errors.ValidationError` listing close matches.

    >>> get("Construction").code
    'construction'
    >>> get("minnig")
    Traceback (most recent call last):
    ...
    safeins.errors.ValidationError: sector: 1 problem
      row  column  value     rule
      -    sector  'minnig'  unknown sector; did you mean 'mining'? (codes: mining, coal_mining, ...)
    """
    if isinstance(name, Sector):
        return name
    sector = _BY_KEY.get(str(name).strip().lower())
    if sector is None:
        raise ValidationError("sector", [Problem(None, "sector", name, unknown_sector_rule(name))])
    return sector


def unknown_sector_rule(name) -> str:
    """The rule text for an unknown sector name, with the closest known names."""
    close = difflib.get_close_matches(str(name).lower(), list(_BY_KEY), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(repr(_BY_KEY[c].code) for c in dict.fromkeys(close))}? " if close else ""
    return f"unknown sector; {hint}(codes: {', '.join(codes()[:2])}, ...)"


def mandatory(regime: str) -> tuple[Sector, ...]:
    """The sectors for which cover is mandatory under a regime key such as ``"national-2017"``.

    >>> [s.code for s in mandatory("national-2017")][:2]
    ['coal_mining', 'non_coal_mining']
    """
    return tuple(s for s in _REGISTRY if s.is_mandatory(regime))
