"""The results store: a Zarr v3 template, one region write per block, completed blocks, reading.

Layout of a store (one Zarr v3 group, written by xarray, ``consolidated=False``):

* every variable of the template (:func:`jkn_risk.outputs.block_template`) with a leading ``sim`` dimension of
  length ``n_sims``, chunked by ``block_size`` along ``sim`` and one chunk along every other
  dimension, so that block ``i`` (simulations ``i * block_size`` up to the next multiple) is
  exactly one chunk of every variable; chunk files are flat (``c.<i>.0.0``, no folder per
  chunk);
* the variables without ``sim`` (:func:`jkn_risk.outputs.static_dataset`: ``members``) and all
  coordinates, written with the template; labels are variable-length strings (object dtype);
* ``block_done`` (block,) bool, one chunk per block, all False in the template. A block is
  marked done only after its data is written, so a crash at any moment leaves a store whose
  ``True`` blocks are complete; the others are redone by ``--resume``;
* global attributes: ``Conventions``, ``title``, the resolved config as YAML, seed, number of
  simulations, block size, package and dependency versions and the UTC creation time.

Writes are safe in parallel because each block touches only its own chunks: :func:`write_block`
refuses a region that is not exactly one chunk (Zarr would accept it and silently race on
the shared chunk). An existing store is never replaced without ``overwrite``; a replacement
template is written next to it and renamed into place only once complete.

This module does not import Dask (xarray uses it internally to write the lazy template).
"""
from __future__ import annotations

import functools
import os
import shutil
import uuid
import warnings
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
import xarray as xr
import yaml
import zarr

__all__ = [
    "ResultsError",
    "ResultsExistError",
    "ResumeMismatchError",
    "IncompleteResultsError",
    "BlockAlignmentError",
    "create_store",
    "check_resumable",
    "write_block",
    "mark_done",
    "completed_blocks",
    "store_attrs",
    "open_results",
    "export_netcdf",
    "run_attributes",
    "as_stored",
    "remove_store",
]

DONE = "block_done"
#: Chunk files named ``c.<i>.<j>...`` in the array's folder instead of nested ``c/<i>/<j>/...``
#: folders: one file per chunk and no folder per chunk (a nested 5-d chunk costs four folders,
#: 16 KiB on ext4, for ~200 bytes of data).
FLAT_CHUNK_KEYS = {"name": "default", "separator": "."}
_VERSIONED = ("jkn_risk", "numpy", "numba", "xarray", "zarr", "dask", "distributed")


# --------------------------------------------------------------------------- errors
class ResultsError(Exception):
    """A problem with a results store that the user can fix (reported without a traceback)."""


class ResultsExistError(ResultsError):
    """The store exists and neither ``overwrite`` nor ``resume`` was asked for."""


class ResumeMismatchError(ResultsError):
    """The store was written by a different run (config, seed, size or block size)."""


class IncompleteResultsError(ResultsError):
    """The store has blocks that were never written (an interrupted run)."""


class BlockAlignmentError(ValueError):
    """A block write that is not exactly one chunk along ``sim`` (a programming error)."""


# --------------------------------------------------------------------------- helpers
@functools.lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    out = {}
    for pkg in _VERSIONED:
        try:
            out[f"version_{pkg}"] = metadata.version(pkg)
        except metadata.PackageNotFoundError:  # pragma: no cover
            out[f"version_{pkg}"] = "not installed"
    return dict(out)


def _plan(n_sims: int, block_size: int) -> list[tuple[int, int]]:
    return [(s, min(s + block_size, n_sims)) for s in range(0, n_sims, block_size)]


def store_attrs(path: str | Path) -> dict:
    """Global attributes of a store, without reading any data."""
    path = Path(path)
    try:
        group = zarr.open_group(str(path), mode="r", zarr_format=3)
    except (FileNotFoundError, zarr.errors.GroupNotFoundError, ValueError) as exc:
        raise ResultsError(f"{path}: not a jkn_risk results store ({exc})") from None
    attrs = group.attrs.asdict()
    if "block_size" not in attrs or "n_sims" not in attrs:
        raise ResultsError(f"{path}: not a jkn_risk results store "
                           "(no n_sims/block_size attributes)")
    return attrs


def _is_store(path: Path) -> bool:
    try:
        store_attrs(path)
    except ResultsError:
        return False
    return True


def _sibling(path: Path, tag: str) -> Path:
    return path.parent / f".{path.name}.{tag}-{uuid.uuid4().hex[:8]}"


def remove_store(path: str | Path) -> bool:
    """Delete a jkn_risk results store (never anything else); return whether one was removed."""
    path = Path(path)
    if path.is_symlink() or not _is_store(path):
        return False
    _remove(path)
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _without_block_size(text: str) -> str:
    """The resolved config YAML without ``simulation.block_size`` (recorded in the ``block_size``
    attribute instead: it never changes the results)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    sim = data.get("simulation") if isinstance(data, dict) else None
    if not isinstance(sim, dict) or "block_size" not in sim:
        return text
    sim.pop("block_size")
    return yaml.safe_dump(data, sort_keys=False)


def _template_dataset(params, n_sims: int, block_size: int, template: xr.Dataset,
                      static: xr.Dataset) -> tuple[xr.Dataset, dict]:
    """The full-size lazy dataset (zeros broadcast, no memory) and its Zarr encoding."""
    sims = np.arange(n_sims, dtype=np.int64)
    ds = static.copy()
    ds = ds.assign_coords(sim=("sim", sims))
    # labels of dimensions only the template has (the fund's management rules)
    ds = ds.assign_coords({name: c.variable for name, c in template.coords.items()
                           if name != "sim" and name not in ds.coords})
    # What the template writes is O(1) in the number of blocks: the sim coordinate and the
    # completion marks are one chunk each (only the client writes the marks, one at a time),
    # and each lazy variable is one Dask chunk that is never computed: its Zarr chunks (one
    # per block) stay unwritten until the blocks' region writes, and read as zeros meanwhile.
    encoding: dict = {"sim": {"chunks": (n_sims,)}}
    for name, var in template.data_vars.items():
        if var.dims[:1] != ("sim",):
            raise ValueError(f"template variable {name!r} must have 'sim' as its first dimension")
        shape = (n_sims, *var.shape[1:])
        zeros = np.broadcast_to(np.zeros((), dtype=var.dtype), shape)
        lazy = xr.Variable(var.dims, zeros, dict(var.attrs)).chunk({"sim": n_sims})
        ds[name] = lazy
        encoding[name] = {"chunks": (block_size, *var.shape[1:])}
    n_blocks = len(_plan(n_sims, block_size))
    ds[DONE] = xr.Variable(("block",), np.zeros(n_blocks, dtype=bool),
                           {"long_name": "block written completely", "units": "1"})
    encoding[DONE] = {"chunks": (n_blocks,)}
    for name in ds.variables:  # every variable and coordinate: flat chunk keys
        encoding.setdefault(name, {})["chunk_key_encoding"] = FLAT_CHUNK_KEYS
    ds.attrs = run_attributes(params, n_sims, block_size)
    return ds, encoding


def run_attributes(params, n_sims: int, block_size: int) -> dict:
    """The global attributes of a run's results: CF conventions, title, the resolved config
    (YAML, block size aside), seed, number of simulations, block size, package and dependency
    versions and the UTC creation time (``created``)."""
    return {
        "Conventions": "CF-1.12",
        "title": f"jkn_risk Monte Carlo results: {getattr(params, 'name', 'unnamed')}",
        "source": f"jkn_risk {_versions()['version_jkn_risk']}",
        "config_name": str(getattr(params, "name", "unnamed")),
        "config_yaml": _without_block_size(str(getattr(params, "config_yaml", ""))),
        "seed": int(params.seed),
        "n_sims": int(n_sims),
        "block_size": int(block_size),
        **_versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def as_stored(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with its text labels as a store gives them back: numpy's variable-width
    ``StringDType`` instead of object or fixed-width ``<U`` arrays (a new Dataset; the
    values are not copied otherwise)."""
    text = np.dtypes.StringDType()
    changed = {name: var.astype(text) for name, var in ds.variables.items()
               if var.dtype.kind in "OU"}
    if not changed:
        return ds
    out = ds.copy()
    for name, var in changed.items():
        if name in ds.indexes:
            out = out.assign_coords({name: var})
        else:
            out[name] = var
    return out


# --------------------------------------------------------------------------- create / check
def create_store(path: str | Path, params, n_sims: int, block_size: int, overwrite: bool = False,
                 *, template: xr.Dataset, static: xr.Dataset) -> Path:
    """Write an empty results store (template, static variables, attributes, ``block_done``).

    Parameters
    ----------
    path : path-like
        The Zarr store (a directory) to create.
    params : Parameters
        Source of the global attributes (``name``, ``config_yaml``, ``seed``).
    n_sims : int
        Length of the ``sim`` dimension.
    block_size : int
        Simulations per block = chunk length along ``sim``.
    overwrite : bool
        Replace an existing store. The new template is written to a temporary sibling and
        renamed into place only when complete, so a failure leaves the old store intact.
    template, static : xr.Dataset
        The one-simulation schema (:func:`jkn_risk.outputs.block_template`) and the ``sim``-free
        variables (:func:`jkn_risk.outputs.static_dataset`).

    Returns
    -------
    Path of the store.

    Raises
    ------
    ResultsExistError
        ``path`` exists and ``overwrite`` is False, or it exists and is not a results store.
    """
    path = Path(path)
    n_sims, block_size = int(n_sims), int(block_size)
    if n_sims < 1 or block_size < 1:
        raise ValueError("n_sims and block_size must be >= 1")
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise ResultsExistError(
                f"{path} already exists: pass --resume to continue it or --overwrite to replace it")
        if not _is_store(path):
            raise ResultsExistError(
                f"{path} exists and is not a jkn_risk results store: refusing to replace it")
    ds, encoding = _template_dataset(params, n_sims, block_size, template, static)

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, "tmp")
    try:
        ds.to_zarr(tmp, mode="w-", compute=False, consolidated=False, zarr_format=3,
                   encoding=encoding)
    except BaseException:
        _remove(tmp)
        raise
    if not (path.exists() or path.is_symlink()):
        try:
            os.rename(tmp, path)
        except OSError:
            _remove(tmp)
            raise ResultsExistError(f"{path} appeared while its template was written") from None
        return path
    old = _sibling(path, "old")
    os.rename(path, old)
    try:
        os.rename(tmp, path)
    except BaseException:
        os.rename(old, path)
        _remove(tmp)
        raise
    _remove(old)
    return path


def _config_diff(a: str, b: str) -> list[str]:
    """Key paths whose values differ between two YAML texts (block size ignored)."""
    try:
        da, db = yaml.safe_load(a) or {}, yaml.safe_load(b) or {}
    except yaml.YAMLError:
        return [] if a == b else ["(config text)"]

    def strip(d):
        d = dict(d) if isinstance(d, dict) else {}
        sim = dict(d.get("simulation") or {})
        for k in ("block_size", "n_sims", "seed"):  # reported separately (or irrelevant)
            sim.pop(k, None)
        d["simulation"] = sim
        return d

    out: list[str] = []

    def walk(x, y, prefix):
        if isinstance(x, dict) and isinstance(y, dict):
            for k in list(x) + [k for k in y if k not in x]:
                walk(x.get(k, _MISSING), y.get(k, _MISSING), f"{prefix}.{k}" if prefix else str(k))
        elif x != y:
            out.append(prefix or "(top level)")

    walk(strip(da), strip(db), "")
    return out


_MISSING = object()


def check_resumable(path: str | Path, params, n_sims: int, block_size: int | None = None) -> int:
    """Check that a store was written by the same run as requested; return its block size.

    The config (resolved YAML, block size aside), seed and number of simulations must match;
    ``block_size`` too when given (``None``: adopt the store's).

    Raises
    ------
    ResumeMismatchError
        Naming every difference.
    """
    path = Path(path)
    attrs = store_attrs(path)
    problems = []
    if int(attrs["seed"]) != int(params.seed):
        problems.append(f"seed {attrs['seed']} (store) vs {params.seed} (requested)")
    if int(attrs["n_sims"]) != int(n_sims):
        problems.append(f"n_sims {attrs['n_sims']} (store) vs {n_sims} (requested)")
    if block_size is not None and int(attrs["block_size"]) != int(block_size):
        problems.append(f"block_size {attrs['block_size']} (store) vs {block_size} (requested)")
    keys = _config_diff(str(attrs.get("config_yaml", "")), str(getattr(params, "config_yaml", "")))
    if keys:
        shown = ", ".join(keys[:8]) + (f" and {len(keys) - 8} more" if len(keys) > 8 else "")
        problems.append(f"config differs at {shown}")
    if problems:
        raise ResumeMismatchError(
            f"cannot resume {path}: it was written by a different run: " + "; ".join(problems)
            + ". Use --overwrite to replace it, or write to another --out.")
    if attrs.get("version_jkn_risk") != _versions()["version_jkn_risk"]:
        warnings.warn(f"{path} was written by jkn_risk {attrs.get('version_jkn_risk')}; resuming "
                      f"with {_versions()['version_jkn_risk']}", stacklevel=2)
    return int(attrs["block_size"])


# --------------------------------------------------------------------------- blocks
def write_block(path: str | Path, ds_block: xr.Dataset, start: int) -> None:
    """Write one block of simulations (a region write of exactly one chunk along ``sim``).

    Parameters
    ----------
    path : path-like
        The store.
    ds_block : xr.Dataset
        ``simulate_block`` output for simulations ``start .. start + n - 1``, in order.
    start : int
        First simulation of the block; must be a multiple of the store's block size, and the
        block must end at the next multiple (or at ``n_sims``).

    Raises
    ------
    BlockAlignmentError
        If the region is not exactly one chunk, or the ``sim`` coordinate is not
        ``start .. stop - 1``.
    """
    path = Path(path)
    attrs = store_attrs(path)
    bs, n_sims = int(attrs["block_size"]), int(attrs["n_sims"])
    start = int(start)
    stop = start + int(ds_block.sizes["sim"])
    if start < 0 or start % bs != 0 or stop != min(start + bs, n_sims):
        raise BlockAlignmentError(
            f"block sims [{start}, {stop}) is not one chunk of {bs} sims (n_sims={n_sims})")
    if "sim" in ds_block.coords and not np.array_equal(ds_block["sim"].values,
                                                         np.arange(start, stop)):
        raise BlockAlignmentError(f"block's sim coordinate is not {start}..{stop - 1}")
    drop = [n for n, v in ds_block.variables.items() if "sim" not in v.dims or n == "sim"]
    sub = ds_block.drop_vars(drop).drop_encoding()
    for v in sub.variables.values():
        v.attrs = {}
    sub.to_zarr(path, region={"sim": slice(start, stop)}, mode="r+", consolidated=False,
                zarr_format=3)


def _done_array(path: Path, mode: str):
    return zarr.open_group(str(path), mode=mode, zarr_format=3)[DONE]


def mark_done(path: str | Path, block_index: int) -> None:
    """Mark block ``block_index`` as completely written (call only after :func:`write_block`)."""
    arr = _done_array(Path(path), "r+")
    if not 0 <= block_index < arr.shape[0]:
        raise IndexError(f"block {block_index} out of range 0..{arr.shape[0] - 1}")
    arr[int(block_index)] = True


def completed_blocks(path: str | Path) -> set[int]:
    """Indices of the blocks marked done."""
    return set(np.flatnonzero(np.asarray(_done_array(Path(path), "r")[:])).tolist())


# --------------------------------------------------------------------------- reading
def open_results(path: str | Path, *, allow_incomplete: bool = False, chunks=None) -> xr.Dataset:
    """Open a results store lazily (without ``block_done``).

    Parameters
    ----------
    path : path-like
    allow_incomplete : bool
        With missing blocks: False (default) raises; True warns and returns only the
        simulations of completed blocks (attribute ``n_sims_completed``).
    chunks : optional
        Passed to :func:`xarray.open_dataset` (default None: lazy, no Dask).

    Raises
    ------
    ResultsError
        Not a results store.
    IncompleteResultsError
        Some blocks were never written and ``allow_incomplete`` is False.
    """
    path = Path(path)
    if not path.exists():
        raise ResultsError(f"{path}: no such results store")
    attrs = store_attrs(path)
    ds = xr.open_dataset(path, engine="zarr", consolidated=False, chunks=chunks)
    done = np.asarray(ds[DONE].values, dtype=bool)
    ds = ds.drop_vars(DONE)
    if done.all():
        return ds
    n_missing = int((~done).sum())
    bs, n_sims = int(attrs["block_size"]), int(attrs["n_sims"])
    msg = (f"{path}: {n_missing} of {done.size} blocks were never written (an interrupted run); "
           "continue it with `jkn-risk run CONFIG --out STORE --resume`")
    if not allow_incomplete:
        raise IncompleteResultsError(msg)
    warnings.warn(msg + "; using the completed simulations only", stacklevel=2)
    mask = np.zeros(n_sims, dtype=bool)
    for i in np.flatnonzero(done):
        mask[i * bs: min((i + 1) * bs, n_sims)] = True
    ds = ds.isel(sim=np.flatnonzero(mask))
    ds.attrs["n_sims_completed"] = int(mask.sum())
    return ds


def export_netcdf(path: str | Path, out_nc: str | Path, *, overwrite: bool = False) -> Path:
    """Write a complete store to netCDF-4 (h5netcdf engine; int64 kept), atomically.

    The file is written to a temporary sibling and renamed into place when complete.

    Raises
    ------
    ResultsError
        h5netcdf is not installed (the ``netcdf`` extra), or the store is not complete.
    ResultsExistError
        ``out_nc`` exists and ``overwrite`` is False (the rule of ``jkn-risk run``).
    """
    out_nc = Path(out_nc)
    try:
        import h5netcdf  # noqa: F401  (xarray would fail only after reading the store)
    except ImportError:
        raise ResultsError('netCDF export needs h5netcdf, which the default install leaves out: '
                           'pip install -e ".[netcdf]" (or pip install "h5netcdf[h5py]")') from None
    if (out_nc.exists() or out_nc.is_symlink()) and not overwrite:
        raise ResultsExistError(f"{out_nc} already exists: pass --overwrite to replace it")
    if out_nc.is_dir():
        raise ResultsExistError(f"{out_nc} is a folder: refusing to replace it with a netCDF file")
    ds = open_results(path).drop_encoding()
    encoding = {name: {"zlib": True, "complevel": 4} for name in ds.data_vars}
    out_nc.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(out_nc, "tmp")
    try:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
        os.replace(tmp, out_nc)
    except BaseException:
        _remove(tmp)
        raise
    finally:
        ds.close()
    return out_nc
