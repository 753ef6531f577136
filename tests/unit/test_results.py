"""Unit tests for jkn_risk.results: the Zarr template, block writes, completion, reading, export.

Synthetic schema and data (no kernel): exact answers on small inputs.
"""
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr
import zarr

from jkn_risk import results
from jkn_risk.results import (BlockAlignmentError, IncompleteResultsError, ResultsError,
                              ResultsExistError, ResumeMismatchError)

YEARS, REGIONS, CARE = [2014, 2015], ["R1", "R2", "R3"], ["inpatient", "outpatient"]
CONFIG = ("name: tiny\nsimulation:\n  n_sims: 10\n  seed: 7\n  block_size: 4\n"
          "regions: [R1, R2, R3]\n")


def _params(seed=7, n_sims=10, config=CONFIG):
    return SimpleNamespace(seed=seed, n_sims=n_sims, block_size=None, name="tiny",
                           config_yaml=config)


def _coords(sims=None):
    c = {"year": np.array(YEARS, dtype=np.int64), "region": np.array(REGIONS, dtype=object),
         "care": np.array(CARE, dtype=object)}
    if sims is not None:
        c["sim"] = np.asarray(sims, dtype=np.int64)
    return c


def _block(sims) -> xr.Dataset:
    """Deterministic fake simulate_block output: a pure function of each sim index."""
    sims = np.asarray(sims, dtype=np.int64)
    s = sims[:, None, None, None]
    events = (s * 1000 + np.arange(2)[:, None, None] * 100 + np.arange(3)[:, None] * 10
              + np.arange(2)).astype(np.int64)
    cost = np.sqrt(events.sum(-1) + 0.5) * 1e9
    return xr.Dataset({
        "events": (("sim", "year", "region", "care"), events, {"units": "1", "long_name": "cases"}),
        "cost": (("sim", "year", "region"), cost, {"units": "IDR", "long_name": "cost"}),
    }, coords=_coords(sims))


def _static() -> xr.Dataset:
    ds = xr.Dataset(coords=_coords())
    ds["members"] = (("year", "region"), np.arange(6.0).reshape(2, 3) * 1e6,
                     {"units": "member-years", "long_name": "average members"})
    return ds


def _create(path, n_sims=10, block_size=4, **kw):
    return results.create_store(path, _params(n_sims=n_sims), n_sims, block_size,
                                template=_block([0]), static=_static(), **kw)


def _fill(path, n_sims=10, block_size=4, skip=()):
    for i, start in enumerate(range(0, n_sims, block_size)):
        if i in skip:
            continue
        results.write_block(path, _block(np.arange(start, min(start + block_size, n_sims))), start)
        results.mark_done(path, i)


def _expected(n_sims=10):
    return xr.merge([_block(np.arange(n_sims)), _static()])


# --------------------------------------------------------------------------- template
def test_template_layout(tmp_path):
    path = _create(tmp_path / "r.zarr")
    group = zarr.open_group(str(path), mode="r")
    assert group["events"].shape == (10, 2, 3, 2)
    assert group["events"].chunks == (4, 2, 3, 2)
    assert group["cost"].chunks == (4, 2, 3)
    # the template's own writes are O(1) in the number of blocks (one chunk each)
    assert group["sim"].chunks == (10,)
    assert group[results.DONE].shape == (3,) and group[results.DONE].chunks == (3,)
    assert results.completed_blocks(path) == set()
    attrs = results.store_attrs(path)
    assert attrs["Conventions"] == "CF-1.12"
    assert (attrs["seed"], attrs["n_sims"], attrs["block_size"]) == (7, 10, 4)
    assert attrs["config_name"] == "tiny"
    assert "block_size" not in attrs["config_yaml"]  # recorded in the attribute instead
    for pkg in ("numpy", "numba", "xarray", "zarr", "dask", "jkn_risk"):
        assert attrs[f"version_{pkg}"]
    assert attrs["created"].endswith("+00:00")
    raw = xr.open_dataset(path, engine="zarr", consolidated=False)
    for name in ("region", "care"):
        assert raw[name].dtype.kind in "OT"  # object or StringDType, never fixed-width <U
    assert raw["members"].attrs["units"] == "member-years"
    assert raw["events"].attrs == {"units": "1", "long_name": "cases"}
    np.testing.assert_array_equal(raw["sim"].values, np.arange(10))
    # no data chunks were written for the sim variables: the template is metadata only
    assert not list((path / "events").glob("c*"))


def test_template_files_do_not_grow_with_the_blocks(tmp_path):
    """A store of 10,000 blocks gets the same number of files from its template as one of 3:
    only the blocks' region writes add chunks (a 100,000-simulation run on 1,000 workers must
    not spend minutes creating its store)."""
    def files(path):
        return sum(1 for f in path.rglob("*") if f.is_file())
    small = _create(tmp_path / "small.zarr")
    big = _create(tmp_path / "big.zarr", n_sims=40_000, block_size=4)
    assert files(big) == files(small)
    results.mark_done(big, 9_999)
    assert results.completed_blocks(big) == {9_999}


def test_chunk_files_are_flat(tmp_path):
    """One file per chunk and no folder per chunk (nested keys cost four 4 KiB folders per
    chunk of a 5-d variable, 10x the data in a 1,000-simulation individual-mode store)."""
    path = _create(tmp_path / "r.zarr")
    _fill(path)
    entries = sorted(p.name for p in (path / "events").iterdir())
    assert entries == ["c.0.0.0.0", "c.1.0.0.0", "c.2.0.0.0", "zarr.json"]
    assert not [p for p in path.rglob("*") if p.is_dir() and p.parent != path]


def test_roundtrip_bits_and_dtypes(tmp_path):
    path = _create(tmp_path / "r.zarr")
    _fill(path)
    assert results.completed_blocks(path) == {0, 1, 2}
    ds = results.open_results(path).load()
    assert results.DONE not in ds.variables and "block" not in ds.dims
    assert ds["events"].dtype == np.int64 and ds["cost"].dtype == np.float64
    xr.testing.assert_identical(ds.drop_attrs(deep=False), _expected())


def test_block_order_does_not_matter(tmp_path):
    a, b = _create(tmp_path / "a.zarr"), _create(tmp_path / "b.zarr")
    _fill(a)
    for i, start in reversed(list(enumerate(range(0, 10, 4)))):
        results.write_block(b, _block(np.arange(start, min(start + 4, 10))), start)
        results.mark_done(b, i)
    xr.testing.assert_identical(results.open_results(a).load().drop_attrs(deep=False),
                                results.open_results(b).load().drop_attrs(deep=False))


@pytest.mark.parametrize("start, stop", [(1, 5), (4, 7), (0, 3), (8, 9), (8, 12), (12, 14)])
def test_write_block_asserts_chunk_alignment(tmp_path, start, stop):
    path = _create(tmp_path / "r.zarr")
    with pytest.raises(BlockAlignmentError):
        results.write_block(path, _block(np.arange(start, stop)), start)


def test_write_block_checks_sim_coordinate(tmp_path):
    path = _create(tmp_path / "r.zarr")
    with pytest.raises(BlockAlignmentError, match="sim coordinate"):
        results.write_block(path, _block(np.arange(4, 8)), 0)


def test_mark_done_range(tmp_path):
    path = _create(tmp_path / "r.zarr")
    with pytest.raises(IndexError):
        results.mark_done(path, 3)


# --------------------------------------------------------------------------- incomplete stores
def test_open_incomplete_refuses_or_subsets(tmp_path):
    path = _create(tmp_path / "r.zarr")
    _fill(path, skip={1})
    with pytest.raises(IncompleteResultsError, match="1 of 3 blocks"):
        results.open_results(path)
    with pytest.warns(UserWarning, match="never written"):
        ds = results.open_results(path, allow_incomplete=True).load()
    keep = [0, 1, 2, 3, 8, 9]
    np.testing.assert_array_equal(ds["sim"].values, keep)
    assert ds.attrs["n_sims_completed"] == 6
    xr.testing.assert_identical(ds.drop_attrs(deep=False), _expected().isel(sim=keep))


def test_open_missing_store(tmp_path):
    with pytest.raises(ResultsError, match="no such results store"):
        results.open_results(tmp_path / "nope.zarr")


# --------------------------------------------------------------------------- never damage a store
def test_create_refuses_existing(tmp_path):
    path = _create(tmp_path / "r.zarr")
    _fill(path)
    with pytest.raises(ResultsExistError, match="--overwrite"):
        _create(path)
    assert results.completed_blocks(path) == {0, 1, 2}


def test_create_refuses_to_replace_a_non_store(tmp_path):
    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "thesis.tex").write_text("years of work")
    with pytest.raises(ResultsExistError, match="not a jkn_risk results store"):
        _create(folder, overwrite=True)
    assert (folder / "thesis.tex").read_text() == "years of work"


def test_overwrite_replaces(tmp_path):
    path = _create(tmp_path / "r.zarr")
    _fill(path)
    _create(path, n_sims=6, block_size=3, overwrite=True)
    assert results.store_attrs(path)["n_sims"] == 6
    assert results.completed_blocks(path) == set()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.zarr"]  # no leftovers


def test_failed_overwrite_leaves_old_store(tmp_path, monkeypatch):
    path = _create(tmp_path / "r.zarr")
    _fill(path)
    real = xr.Dataset.to_zarr

    def half_written(self, store, *args, **kwargs):
        real(self, store, *args, **kwargs)  # the template is written ... then the disk fills
        raise OSError("No space left on device")

    monkeypatch.setattr(xr.Dataset, "to_zarr", half_written)
    with pytest.raises(OSError, match="No space"):
        _create(path, n_sims=6, block_size=3, overwrite=True)
    monkeypatch.undo()
    assert results.completed_blocks(path) == {0, 1, 2}
    xr.testing.assert_identical(results.open_results(path).load().drop_attrs(deep=False),
                                _expected())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.zarr"]


# --------------------------------------------------------------------------- resume checks
def test_check_resumable(tmp_path):
    path = _create(tmp_path / "r.zarr")
    assert results.check_resumable(path, _params(), 10) == 4
    assert results.check_resumable(path, _params(), 10, 4) == 4


@pytest.mark.parametrize("params, n_sims, bs, what", [
    (_params(seed=8), 10, None, "seed 7 .store. vs 8"),
    (_params(), 12, None, "n_sims 10 .store. vs 12"),
    (_params(), 10, 5, "block_size 4 .store. vs 5"),
    (_params(config=CONFIG.replace("R3]", "R4]")), 10, None, "config differs at regions"),
    (_params(config=CONFIG + "policy:\n  annual_benefit_cap: 1.0e8\n"), 10, None,
     "config differs at policy"),
])
def test_resume_refuses_a_different_run(tmp_path, params, n_sims, bs, what):
    path = _create(tmp_path / "r.zarr")
    with pytest.raises(ResumeMismatchError, match=what):
        results.check_resumable(path, params, n_sims, bs)


def test_resume_ignores_block_size_in_config(tmp_path):
    path = _create(tmp_path / "r.zarr")
    other = CONFIG.replace("block_size: 4", "block_size: null")
    assert results.check_resumable(path, _params(config=other), 10) == 4


# --------------------------------------------------------------------------- export
def test_export_netcdf_keeps_int64(tmp_path):
    path = _create(tmp_path / "r.zarr")
    _fill(path)
    out = results.export_netcdf(path, tmp_path / "out" / "r.nc")
    nc = xr.open_dataset(out, engine="h5netcdf").load()
    assert nc["events"].dtype == np.int64
    assert nc.attrs["Conventions"] == "CF-1.12" and nc.attrs["seed"] == 7
    xr.testing.assert_identical(nc, results.open_results(path).load())
    assert sorted(p.name for p in out.parent.iterdir()) == ["r.nc"]


def test_export_refuses_incomplete(tmp_path):
    path = _create(tmp_path / "r.zarr")
    _fill(path, skip={2})
    with pytest.raises(IncompleteResultsError):
        results.export_netcdf(path, tmp_path / "r.nc")
    assert not (tmp_path / "r.nc").exists()
