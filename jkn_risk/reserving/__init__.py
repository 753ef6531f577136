"""Reserving: claim triangles, chain-ladder, Mack and the ODP bootstrap (England & Verrall 2002).

The bootstrap distribution of the base year's completion factor (ultimate over reported) feeds the
simulations as parameter uncertainty.
"""
from .triangle import Triangle, TriangleError, read_triangle, triangle_from_array, write_triangle
from .chainladder import Chainladder, MackChainladder
from .bootstrap import BootstrapODP
from .summary import reserve_summary, format_summary

__all__ = [
    "Triangle",
    "TriangleError",
    "read_triangle",
    "triangle_from_array",
    "write_triangle",
    "Chainladder",
    "MackChainladder",
    "BootstrapODP",
    "reserve_summary",
    "format_summary",
]
