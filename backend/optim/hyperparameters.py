"""Hyperparameter metadata shared by the optimizer and schedule registries.

A registry entry names a torch class; its hyperparameters (names and defaults)
are read from the class signature, and this module supplies what a signature
cannot say: the type, the allowed range and a one-line description. From that
metadata it builds a pydantic model per class, so a request is validated at the
edge and the OpenAPI document shows every bound.
"""

import inspect
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from backend.jsontypes import integer

# "pair" / "triple": a tuple of two / three floats (betas, etas, ...)
Kind = Literal["float", "int", "bool", "pair", "triple", "choice", "int_list"]


@dataclass(frozen=True)
class Metadata:
    """What a signature cannot tell about a keyword: type, range, description."""

    type: Kind
    description: str
    min: float | None = None
    max: float | None = None
    exclusive_min: bool = False
    exclusive_max: bool = False
    choices: tuple[Any, ...] | None = None
    nullable: bool = False


@dataclass(frozen=True, kw_only=True)
class Hyperparameter(Metadata):
    """One keyword argument of a torch class, as the API and the page show it: its name, its
    default (from the signature) and its metadata."""

    name: str
    default: Any

    def annotation(self) -> Any:
        """The pydantic type of this hyperparameter, bounds included."""
        bounds: dict[str, Any] = {}
        if self.min is not None:
            bounds["gt" if self.exclusive_min else "ge"] = self.min
        if self.max is not None:
            bounds["lt" if self.exclusive_max else "le"] = self.max
        number: Any
        if self.type == "bool":
            number = Annotated[bool, Field(strict=True)]
        elif self.type == "choice":
            assert self.choices is not None
            number = Literal[tuple(self.choices)]
        elif self.type == "int" or self.type == "int_list":
            number = integer(**bounds)
        else:
            number = Annotated[float, Field(allow_inf_nan=False, strict=True, **bounds)]
        if self.type == "pair":
            first: Any = number | None if self.nullable else number
            return tuple[first, number]
        if self.type == "triple":
            return tuple[number, number, number]
        if self.type == "int_list":
            return Annotated[list[number], Field(max_length=100)]
        return number | None if self.nullable and self.type != "choice" else number


def signature_defaults(cls: type, skip: frozenset[str]) -> dict[str, Any]:
    """Keyword names and defaults of `cls.__init__`, in order, without `skip`."""
    parameters = inspect.signature(cls).parameters
    return {
        name: p.default
        for name, p in parameters.items()
        if name not in skip and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def describe(
    cls: type,
    skip: frozenset[str],
    metadata: dict[str, Metadata],
    defaults: dict[str, Any] | None = None,
) -> tuple[Hyperparameter, ...]:
    """Hyperparameters of `cls` from its signature, typed and bounded by `metadata`.

    Raises KeyError for a keyword with no metadata, so a torch upgrade that adds
    a keyword fails loudly in the tests instead of silently hiding it.
    """
    found = signature_defaults(cls, skip)
    if defaults:
        found.update(defaults)
    out = []
    for name, default in found.items():
        meta = metadata[name]
        if isinstance(default, tuple):
            default = list(default)
        if meta.type == "float" and isinstance(default, int) and not isinstance(default, bool):
            default = float(default)
        fields = {**vars(meta), "nullable": meta.nullable or default is None}
        out.append(Hyperparameter(name=name, default=default, **fields))
    return tuple(out)


def spec_model(
    model_name: str, entry_id: str, hyperparameters: tuple[Hyperparameter, ...], doc: str
) -> type[BaseModel]:
    """A pydantic model `{"name": entry_id, <hyperparameter>: value, ...}`; unknown keys fail."""
    fields: dict[str, Any] = {
        "name": (Literal[entry_id], Field(description="registry id")),
    }
    for h in hyperparameters:
        default = tuple(h.default) if isinstance(h.default, list) else h.default
        fields[h.name] = (h.annotation(), Field(default, description=h.description))
    model: type[BaseModel] = create_model(
        model_name,
        __config__=ConfigDict(extra="forbid"),
        __doc__=doc,
        **fields,
    )
    return model
