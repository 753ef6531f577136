"""Loading a configuration: YAML files, ``extends:`` (deep merge), ``--set`` overrides.

``load_config(path, overrides)`` reads the YAML (syntax errors name file and line), follows
``extends:`` (a path or a list of paths merged in order; mappings merge, lists replace; cycles
are errors), applies ``a.b.c=value``
overrides, validates against :mod:`jkn_risk.schema` and reads the CSV tables
(:mod:`jkn_risk.tables`). Every problem comes back in one :class:`ConfigError` with its key path.
"""
from __future__ import annotations

import copy
import difflib
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from jkn_risk.schema import (CARE_TYPES, BootstrapIBNR, Config, ConfigError, Shock,
                             schedule_annual, trend_index)
from jkn_risk.schema_fund import UNION_TAGS as FUND_UNION_TAGS
from jkn_risk.schema_fund import Fund, check_fund
from jkn_risk.tables import _NOVALUE, TableError, load_tables

__all__ = ["Config", "ConfigError", "load_config", "load_config_dict", "CARE_TYPES",
           "schedule_annual", "trend_index", "deep_merge", "apply_overrides", "BootstrapIBNR", "validate_fund",
           "Shock"]

# Keys whose values are file paths, resolved relative to the YAML file that names them.
_PATH_KEYS = (("membership", "base"), ("membership", "table"), ("case_mix", "table"), ("population",),
              ("utilization", "inpatient", "ibnr", "triangle"),
              ("utilization", "outpatient", "ibnr", "triangle"))

# --------------------------------------------------------------------------- loading
def _read_yaml(path: Path) -> dict:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError([(str(path), "config file not found", _NOVALUE)]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([(where, f"YAML syntax error: {problem}", _NOVALUE)]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([(str(path), "top level must be a mapping", type(data).__name__)])
    return data


def _resolve_paths(data: dict, folder: Path) -> None:
    for keys in _PATH_KEYS:
        node = data
        for k in keys[:-1]:
            node = node.get(k) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict) and isinstance(node.get(keys[-1]), str):
            p = Path(node[keys[-1]])
            node[keys[-1]] = str(p if p.is_absolute() else (folder / p).resolve())


def deep_merge(base: dict, over: dict) -> dict:
    """Merge ``over`` into a copy of ``base``: mappings merge, everything else replaces."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _load_tree(path: Path, chain: tuple[Path, ...]) -> dict:
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(str(p.name) for p in (*chain, path))
        raise ConfigError([("extends", f"cyclic extends: {cycle}", _NOVALUE)])
    data = _read_yaml(path)
    _resolve_paths(data, path.parent)
    parents = data.pop("extends", None)
    if parents is None:
        return data
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise ConfigError([("extends", "must be a file path or a list of file paths", parents)])
    merged: dict = {}
    for i, parent in enumerate(parents):  # later parents override earlier ones, then this file
        key = "extends" if len(parents) == 1 else f"extends.{i}"
        parent_path = Path(parent) if Path(parent).is_absolute() else path.parent / parent
        if not parent_path.exists():
            raise ConfigError([(key, f"file not found: {parent_path}", parent)])
        merged = deep_merge(merged, _load_tree(parent_path, (*chain, path)))
    return deep_merge(merged, data)


def apply_overrides(data: dict, overrides: list[str] | None) -> dict:
    """Apply ``a.b.c=value`` overrides (values parsed as YAML) to a copy of ``data``."""
    out = copy.deepcopy(data)
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError([("--set", "expected KEY.PATH=VALUE", item)])
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ConfigError([(key, "value is not valid YAML", raw)]) from None
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            nxt = node.get(part) if isinstance(node, dict) else None
            if nxt is None:
                nxt = node[part] = {}
            if not isinstance(nxt, dict):
                raise ConfigError([(key, f"'{part}' is not a mapping", nxt)])
            node = nxt
        node[parts[-1]] = value
    return out


_UNION_TAGS = {"fixed", "wage", "class", "float", "int", "str", "BootstrapIBNR", *FUND_UNION_TAGS}


def _branches(tp) -> list:
    """The model classes, ``dict`` and ``list`` types an annotation can be (Annotated,
    Optional and unions unwrapped)."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _branches(get_args(tp)[0])
    if origin in (Union, UnionType):
        return [b for arg in get_args(tp) for b in _branches(arg)]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    if origin in (dict, list, tuple):
        return [tp]
    return []


def _known_keys(root: type[BaseModel], loc: tuple) -> list[str]:
    """The keys a mapping at ``loc`` (pydantic's raw location, union tags included) accepts:
    the fields of every model it can be; empty where that is not a model."""
    kinds = [root]
    for part in loc:
        nxt = []
        for t in kinds:
            if isinstance(t, type) and issubclass(t, BaseModel):
                if part in t.model_fields:
                    nxt += _branches(t.model_fields[part].annotation)
                elif part == t.__name__ or str(part) in _UNION_TAGS:
                    nxt.append(t)  # a union branch's tag: stay on this model
            elif get_origin(t) is dict:
                nxt += _branches(get_args(t)[1])
            elif get_origin(t) in (list, tuple) and isinstance(part, int):
                nxt += [b for a in get_args(t) if a is not Ellipsis for b in _branches(a)]
        if not nxt and str(part) in _UNION_TAGS:
            continue  # a tag of a union of plain types (float | int): same place
        kinds = nxt
    return sorted({k for t in kinds if isinstance(t, type) and issubclass(t, BaseModel)
                   for k in t.model_fields})


def _suggest(word: str, known: list[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest known key (difflib), else empty."""
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _key_path(loc, data) -> list[str]:
    """The config keys of a pydantic error location: union branch tags (``wage``, ``float``,
    ``function-after[...]``) removed, but only where the input has no key of that name, so that
    ``uncertainty.wage.sigma`` keeps its ``wage``."""
    node, out = data, []
    for part in loc:
        s = str(part)
        if isinstance(node, dict) and part in node:
            out.append(s)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(s)
            node = node[part]
        elif s in _UNION_TAGS or s.startswith(("function-", "constrained-")) or "[" in s:
            continue
        else:
            out.append(s)
            node = None
    return out


def _pydantic_problems(exc: ValidationError, root: type[BaseModel] | None = None,
                       data: Any = None) -> list[tuple[str, str, Any]]:
    """One ``(key path, message, value)`` per pydantic error, union branch tags removed and
    only the first error per key kept. Where one branch of a union went deeper into a mapping
    (``ibnr: {n_boot: 5}``), the other branches' complaints about the mapping itself ("Input
    should be a valid number") are dropped. An unknown key gets the closest known key of
    ``root``'s schema at that place ("did you mean ...?")."""
    root = Config if root is None else root
    problems, seen, tagged = [], set(), set()
    for err in exc.errors():
        if isinstance(err.get("ctx", {}).get("error"), ConfigError):
            continue  # reported through its own problems
        raw = [str(x) for x in err["loc"]]
        loc = _key_path(err["loc"], data)
        path = ".".join(loc) or "(top level)"
        if path in seen:
            continue
        seen.add(path)
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input", _NOVALUE)
        if err["type"] == "missing":
            value, msg = _NOVALUE, "missing required key"
        elif err["type"] == "extra_forbidden":
            hint = _suggest(raw[-1], _known_keys(root, tuple(err["loc"][:-1])))
            msg = "unknown key" + hint
            if hint:  # the key is the problem, not its value
                value = _NOVALUE
        if len(loc) < len(raw):
            tagged.add(path)
        if isinstance(value, (dict, list)) and len(repr(value)) > 80:
            value = _NOVALUE
        problems.append((path, msg, value))
    paths = [p for p, _, _ in problems]
    return [(p, m, v) for p, m, v in problems
            if not (p in tagged and any(q.startswith(p + ".") for q in paths))]


def load_config_dict(data: dict) -> Config:
    """Validate a config mapping (paths already absolute) and load its tables."""
    try:
        cfg = Config.model_validate(data)
    except ConfigError:
        raise
    except ValidationError as exc:
        # a ConfigError raised inside a validator arrives wrapped: unwrap it
        inner = [e.get("ctx", {}).get("error") for e in exc.errors()]
        nested = [p for e in inner if isinstance(e, ConfigError) for p in e.problems]
        problems = nested + _pydantic_problems(exc, data=data)
        raise ConfigError(problems) from None
    try:
        tables = load_tables(cfg)
    except TableError as exc:
        raise ConfigError(exc.problems) from None
    cfg.__pydantic_private__["_tables"] = tables
    cfg.__pydantic_private__["_source"] = yaml.safe_dump(data, sort_keys=False)
    return cfg


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    """Load a YAML config, resolve ``extends:`` (deep merge) and ``--set`` overrides, validate.

    Raises
    ------
    ConfigError
        With one ``(key path, message, value)`` per problem.
    """
    data = apply_overrides(_load_tree(Path(path), ()), overrides)
    return load_config_dict(data)


def validate_fund(data: Any, segments, regions, compartments: str = "pooled",
                  has_benefit_cap: bool | None = None) -> Fund:
    """Validate a ``fund:`` mapping on its own (as ``load_config`` will inside a config).

    Returns
    -------
    Fund

    Raises
    ------
    ConfigError
        One ``(key path, message, value)`` per problem, paths starting with ``fund.``.
    """
    try:
        fund = Fund.model_validate(data)
    except ValidationError as exc:
        problems = []
        for path, msg, value in _pydantic_problems(exc, Fund):  # union tags already removed
            parts = [p for p in path.split(".") if p != "(top level)"]
            problems.append((".".join(["fund", *parts]), msg, value))
        raise ConfigError(problems) from None
    problems = check_fund(fund, segments, regions, compartments, has_benefit_cap)
    if problems:
        raise ConfigError(problems)
    return fund
