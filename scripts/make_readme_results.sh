#!/usr/bin/env bash
# Regenerate every result the README shows (stores under results/, figures copied to
# docs/figures/): run after a change of the model or of the random streams, then copy the
# printed tables into README.md. Takes ~30-60 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p results docs/figures
step() { echo "== $* ($(date -u +%H:%M:%S))"; }

step "main job: 2024 baseline"
/usr/bin/time -f "%e s, %M KB peak" jkn-risk run configs/jkn2024.yaml --out results/jkn2024.zarr --overwrite
jkn-risk report results/jkn2024.zarr --out results/jkn2024_report
step "2014 baseline with the default uncertainty block"
/usr/bin/time -f "%e s, %M KB peak" jkn-risk run configs/jkn2014.yaml --out results/jkn2014.zarr --overwrite
jkn-risk report results/jkn2014.zarr --out results/jkn2014_report
step "attribution of the 2014 baseline's variance"
/usr/bin/time -f "%e s, %M KB peak" jkn-risk sensitivity configs/jkn2014.yaml --sims ${SENS_SIMS:-256} --years 2019 --out results/jkn2014_report
step "2024 stress pack"
/usr/bin/time -f "%e s, %M KB peak" jkn-risk stress configs/jkn2024.yaml configs/stress/2024/*.yaml --sims ${STRESS24_SIMS:-200} --out results/stress2024 --overwrite
step "2018 stress pack"
/usr/bin/time -f "%e s, %M KB peak" jkn-risk stress configs/jkn2018_segments.yaml configs/stress/*.yaml --sims ${STRESS18_SIMS:-200} --out results/stress2018 --overwrite

for f in results/jkn2024_report/fund_months_of_claims_fan.png results/jkn2024_report/fund_depletion_year.png \
         results/jkn2014_report/claim_ratio_fan.png; do
  cp "$f" "docs/figures/$(basename "$(dirname "$f")" _report)_$(basename "$f")"
done
cp results/jkn2014_report/sensitivity.png docs/figures/sensitivity.png
cp results/stress2018/stress_tornado.png docs/figures/stress_tornado.png
cp results/stress2018/stress_pd.png docs/figures/stress_pd.png
step "done: python scripts/readme_tables.py prints the README's tables"
