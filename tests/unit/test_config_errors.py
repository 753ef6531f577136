"""Every kind of bad input gives a clear error naming the key (or file, line, column) and value."""
from __future__ import annotations

import pytest

from jkn_risk.config import ConfigError, load_config


def errors(path, overrides=None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    return info.value.lines()


def one(lines, *needles):
    hits = [line for line in lines if all(n in line for n in needles)]
    assert hits, f"no line with {needles} in {lines}"
    return hits[0]


def test_baseline_is_valid(baseline_path):
    cfg = load_config(baseline_path)
    assert cfg.years == [2014, 2015, 2016, 2017, 2018, 2019]
    assert cfg.tables.members.shape == (6, 5, 5)


def test_unknown_key(baseline_path):
    one(errors(baseline_path, ["utilization.inpatient.bogus=1"]), "utilization.inpatient.bogus", "unknown key", "got 1")


def test_missing_key(config_copy):
    data = config_copy.read()
    del data["utilization"]["outpatient"]
    one(errors(config_copy.write(data)), "utilization.outpatient", "missing")


@pytest.mark.parametrize("override, key", [
    ("utilization.inpatient.rate.R1=-3", "utilization.inpatient.rate.R1"),
    ("utilization.inpatient.rate.R1=abc", "utilization.inpatient.rate.R1"),
    ("membership.totals.2016=-5", "membership.totals.2016"),
    ("contributions.PBI-APBN.pmpm.2014=lots", "contributions.PBI-APBN.pmpm.2014"),
])
def test_negative_or_non_numeric(baseline_path, override, key):
    line = one(errors(baseline_path, [override]), key)
    assert "got" in line


def test_shares_must_sum_to_one(baseline_path):
    line = one(errors(baseline_path, ["contributions.PBPU.class_shares={III: 0.5, II: 0.3, I: 0.3}"]),
               "contributions.PBPU", "sum to 1")
    assert "1.1" in line


def test_hospital_shares_must_sum_to_one(baseline_path):
    one(errors(baseline_path, ["case_mix.hospital_class.shares.A=0.2"]), "case_mix.hospital_class", "sum to 1")


def test_unknown_region_in_rates(baseline_path):
    one(errors(baseline_path, ["utilization.inpatient.rate.R7=3.0"]), "utilization.inpatient.rate.R7", "unknown region", "R7")


def test_unknown_segment(baseline_path):
    one(errors(baseline_path, ["utilization.inpatient.segment_relativity={PBX: 2.0}"]),
        "segment_relativity.PBX", "unknown segment")


def test_missing_region_in_rates(config_copy):
    data = config_copy.read()
    del data["utilization"]["inpatient"]["rate"]["R3"]
    one(errors(config_copy.write(data)), "utilization.inpatient.rate.R3", "missing")


def test_years_out_of_order(baseline_path):
    one(errors(baseline_path, ["years=[2014, 2016, 2015, 2017, 2018, 2019]"]), "years", "consecutive")


def test_year_missing_from_table(config_copy):
    data = config_copy.read()
    del data["membership"]["totals"][2017]
    one(errors(config_copy.write(data)), "membership.totals.2017", "missing year")


def test_year_outside_projection(baseline_path):
    one(errors(baseline_path, ["utilization.inpatient.trend.2010=0.1"]), "utilization.inpatient.trend.2010",
        "after the base year")


def test_missing_csv(baseline_path):
    one(errors(baseline_path, ["case_mix.table=nowhere.csv"]), "case_mix.table", "file not found")


def test_csv_wrong_columns(config_copy):
    config_copy.edit_csv("membership_2014.csv", "segment,region,members", "segment,area,members")
    one(errors(config_copy.path), "membership.base", "membership_2014.csv", "wrong columns", "region")


def test_csv_non_numeric_cell_names_file_row_column(config_copy):
    config_copy.edit_csv("membership_2014.csv", "PBI-APBN,R2,11466209.1", "PBI-APBN,R2,many")
    line = one(errors(config_copy.path), "membership.base", "membership_2014.csv line 7", "column 'members'")
    assert "many" in line


def test_csv_negative_tariff(config_copy):
    text = (config_copy.folder / "data" / "cbg_table_2014.csv").read_text().splitlines()
    idx = next(i for i, ln in enumerate(text) if ln.startswith("R1,inpatient"))
    cells = text[idx].split(",")
    config_copy.edit_csv("cbg_table_2014.csv", text[idx], ",".join(cells[:-1] + ["-5"]))
    one(errors(config_copy.path), "case_mix.table", f"line {idx + 1}", "column 'tariff'", "-5")


def test_csv_unknown_region(config_copy):
    config_copy.edit_csv("membership_2014.csv", "PBPU,R4,", "PBPU,R9,")
    one(errors(config_copy.path), "membership.base", "unknown region", "R9")


def test_csv_probabilities_must_sum_to_one(config_copy):
    text = (config_copy.folder / "data" / "cbg_table_2014.csv").read_text().splitlines()
    row = next(ln for ln in text if ln.startswith("R2,outpatient"))
    c = row.split(",")
    config_copy.edit_csv("cbg_table_2014.csv", row, ",".join([*c[:3], str(float(c[3]) + 0.01), c[4]]))
    one(errors(config_copy.path), "case_mix.table", "R2/outpatient", "sum to 1")


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nyears: [2014, 2015\nregions: [R1]\n")
    line = one(errors(bad), "bad.yaml:", "YAML syntax error")
    assert ":3:" in line or ":2:" in line


def test_cyclic_extends(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nname: a\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\n")
    one(errors(tmp_path / "a.yaml"), "extends", "cyclic", "a.yaml -> b.yaml -> a.yaml")


def test_extends_deep_merge_and_list_replace(config_copy, tmp_path):
    child = config_copy.folder / "child.yaml"
    child.write_text("extends: jkn2014.yaml\nname: child\nutilization:\n  inpatient:\n    ibnr: 1.1\n"
                     "regions: [R1, R2, R3, R4, R5]\n")
    cfg = load_config(child)
    assert cfg.name == "child" and cfg.utilization.inpatient.ibnr == 1.1
    assert cfg.utilization.inpatient.rate["R1"] == 3.239  # merged, not replaced


def test_set_override_parses_yaml(baseline_path):
    cfg = load_config(baseline_path, ["simulation.n_sims=7", "policy.compartments=segment"])
    assert cfg.simulation.n_sims == 7 and cfg.policy.compartments == "segment"


def test_config_is_frozen(baseline_path):
    cfg = load_config(baseline_path)
    with pytest.raises(Exception):
        cfg.name = "changed"


def test_bad_shock_address(baseline_path):
    one(errors(baseline_path, ["shocks=[{target: utilisation, multiply: 1.1}]"]), "shocks.0.target")
    one(errors(baseline_path, ["shocks=[{target: utilization, regions: [R9], multiply: 1.1}]"]),
        "shocks.0.regions.R9", "unknown region")


@pytest.mark.parametrize("key, name", [("case_mix.table", "cbg_table_2014.csv"),
                                       ("membership.base", "membership_2014.csv")])
def test_missing_table_file_names_the_path_and_no_value(config_copy, key, name):
    path = config_copy.folder / "data" / name
    path.unlink()
    line = one(errors(config_copy.path), key, "file not found")
    assert line == f"{key}: file not found: {path}"
    assert "(got None)" not in line


def test_one_sentinel_for_no_value():
    """``(got ...)`` is left out for problems without a value, and only for those: a value that
    is None is still shown."""
    from jkn_risk import config, schema, tables

    assert schema._NOVALUE is tables._NOVALUE and config._NOVALUE is tables._NOVALUE
    assert ConfigError([("a.b", "m", tables._NOVALUE)]).lines() == ["a.b: m"]
    assert ConfigError([("a.b", "m", None)]).lines() == ["a.b: m (got None)"]
