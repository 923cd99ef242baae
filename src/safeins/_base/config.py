"""Frozen, validated configuration objects that read and write TOML.

Rate manuals, floating rules, regimes, service catalogues and schemes are :class:`Config` subclasses:
frozen pydantic models with ``from_toml``/``to_toml`` and a JSON Schema. Pydantic's errors are turned
into one :class:`safeins.errors.ValidationError` that lists every bad field.

>>> class Limits(Config):
...     per_person: float
...     headcount: int = 1
>>> Limits.from_dict({"per_person": 4e5}).per_person
400000.0
>>> Limits.from_toml_text(Limits(per_person=5e5, headcount=3).to_toml_text()).headcount
3
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Self

import pydantic

from ..errors import ConfigError, Problem, ValidationError
from .results import html_repr, short_repr, text_html

__all__ = ["Config", "pydantic_problems"]


def pydantic_problems(err: pydantic.ValidationError) -> list[Problem]:
    """Turn pydantic's error list into safeins problems (dotted field path, value, message)."""
    out = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e.get("loc", ())) or "-"
        out.append(Problem(None, loc, e.get("input"), e.get("msg", "invalid")))
    return out


class Config(pydantic.BaseModel):
    """Base class of safeins configurations: frozen, no unknown fields, TOML in and out."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid", validate_default=True)

    #: a configuration's repr is cut here: a rate manual can hold thousands of rows
    _REPR_MAX_CHARS = 600

    def __repr__(self) -> str:
        if hasattr(self, "summary"):
            return short_repr(self)
        text = super().__repr__()
        if len(text) <= self._REPR_MAX_CHARS:
            return text
        return text[: self._REPR_MAX_CHARS] + f" … ({len(text):,} characters; .model_dump() has them all)"

    def __str__(self) -> str:
        return self.__repr__()

    def _repr_html_(self) -> str | None:
        """Notebooks: the summary and the table when the configuration has them, else its fields."""
        if hasattr(self, "summary"):
            return html_repr(self)
        import pandas as pd

        fields = {k: (v if isinstance(v, int | float | str | bool) or v is None else repr(v)[:120])
                  for k, v in self}
        frame = pd.DataFrame({"value": list(fields.values())}, index=pd.Index(list(fields), name="field"))
        return text_html(type(self).__name__, frame)

    def __init__(self, **data: Any):
        # constructing in code reports like reading a file: one safeins ValidationError
        try:
            super().__init__(**data)
        except pydantic.ValidationError as err:
            name = data.get("name") if isinstance(data.get("name"), str) else ""
            raise ValidationError(f"{type(self).__name__} {name}".strip(), pydantic_problems(err)) from None

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str | None = None) -> Self:
        """Validate a plain dict; every bad field is listed in one ValidationError naming ``source``."""
        if not isinstance(data, dict):
            raise ValidationError(source or cls.__name__, [Problem(None, "-", type(data).__name__,
                                                                   "a table of fields")])
        try:
            return cls(**data)
        except ValidationError as err:
            raise ValidationError(source or err.what, err._problems) from None

    @classmethod
    def from_toml_text(cls, text: str, *, source: str | None = None) -> Self:
        """Parse TOML text and validate it."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{source or cls.__name__}: not valid TOML: {err}") from None
        return cls.from_dict(data, source=source)

    @classmethod
    def from_toml(cls, path: str | Path, *, encoding: str | None = None) -> Self:
        """Read and validate a TOML file.

        TOML is UTF-8 by definition, and that is the default; ``encoding`` reads a file saved in
        another encoding (``"gb18030"`` for one from a Chinese Windows editor). A file that is
        not UTF-8 raises a ValidationError naming the encoding to pass.
        """
        from .files import read_text

        path = Path(path)
        return cls.from_toml_text(read_text(path, encoding, what=f"TOML file {str(path)!r}"),
                                  source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (JSON/TOML types only) that ``from_dict`` reads back to an equal object."""
        return self.model_dump(mode="json", exclude_none=True)

    def to_toml_text(self) -> str:
        """TOML text that ``from_toml_text`` reads back to an equal object."""
        import tomli_w

        return tomli_w.dumps(self.to_dict())

    def to_toml(self, path: str | Path) -> Path:
        """Write the configuration as TOML; returns the path written."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_toml_text(), encoding="utf-8")
        return path

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema of this configuration (for editors and documentation)."""
        return cls.model_json_schema()
