"""Risk measures, figures and reports of a results Dataset.

``metrics`` computes the measures (pure functions, no plotting), ``plots`` draws figures, ``render`` writes the
Markdown/HTML risk report, ``stress`` compares scenarios run with common random numbers.
"""
from .metrics import pd_by_region_segment, pd_convergence, risk_measures, to_frame, to_json
from .render import render_report
from .stress import compare_scenarios, pd_comparison_chart, render_stress_report, tornado_chart

__all__ = [
    "risk_measures", "to_frame", "to_json", "pd_by_region_segment", "pd_convergence", "render_report",
    "compare_scenarios", "tornado_chart", "pd_comparison_chart", "render_stress_report",
]
