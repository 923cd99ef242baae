"""The multi-year simulation engine, its backends (numpy locally, dask on a cluster) and results."""

from .backends import run, size_guard
from .engine import BLOCK, free_workspaces, run_block
from .result import SimulationMeta, SimulationResult

__all__ = ["BLOCK", "SimulationMeta", "SimulationResult", "free_workspaces", "run", "run_block",
           "size_guard"]
