"""Plan blocks of simulations, dispatch them (serially or on Dask), write each to Zarr, resume.

The only module that imports Dask (lazily: a serial run never does). A run reads as the flow::

    store  = prepare the store (create the template, or check it for --resume)
    blocks = plan_blocks(n_sims, block_size) minus the blocks already done
    for each block, on whichever process: simulate_block -> write_block   (same function)
    as each block completes, in this process: mark_done -> advance the progress bar

Because random streams belong to (seed, simulation, cell), the bits do not depend on the block
size, on the number or kind of workers, on the order of completion or on a resume.

Threads: ``workers=0`` runs in this process with Numba's threads (all cores by default). A
Dask worker runs one Numba thread per task (one single-threaded worker process per core),
unless the worker process was started with ``NUMBA_NUM_THREADS`` set and a single Dask thread,
in which case the kernel uses those Numba threads (one worker process per node).
"""
from __future__ import annotations

import logging
import math
import os
import re
import socket
import sys
import time
import uuid
from contextlib import contextmanager, nullcontext
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from jkn_risk import results
from jkn_risk.codes import METHOD_COLLECTIVE

__all__ = ["plan_blocks", "auto_block_size", "estimate_seconds_per_sim", "run",
           "simulate_blocks", "check_scheduler", "SchedulerError"]

log = logging.getLogger(__name__)

#: Cost model for :func:`auto_block_size` (one core of a 2-vCPU machine, whole ``simulate_block``
#: calls): seconds per simulated event (individual mode, or collective with cost noise), per case
#: group per cell (collective without noise) and per cell. Fitted to the baseline
#: (``configs/jkn2014.yaml``): about 2.4 s per individual simulation (100 M IDR cap, cost noise
#: 0.3; 350 M events) and 0.04 s per collective one (648 K group-cells);
#: ``benchmarks/bench_run.py`` prints the model's estimate beside each measured run.
COST_PER_EVENT = 6.5e-9
COST_PER_GROUP = 5.5e-8
COST_PER_CELL = 2.0e-5
#: Target seconds per task: the per-block costs (building the Dataset, the Zarr region write,
#: the completion mark, Dask's dispatch: ~0.2 s together) stay near 2% of a task, each chunk
#: file holds several simulations, and a resumed run redoes at most one task per worker.
TARGET_SECONDS = 10.0
#: At least this many blocks when the run has enough simulations, so that a few workers
#: finish together (the last task of a worker is at most ~1/16 of the run).
MIN_BLOCKS = 16
#: Largest block output held in memory by a task [bytes].
MAX_BLOCK_BYTES = 64 * 2**20
#: Seconds to wait for a TCP connection to a scheduler before anything is created.
SCHEDULER_CONNECT_TIMEOUT = 3.0


class SchedulerError(Exception):
    """A ``--scheduler`` address that is malformed or where no Dask scheduler answers (one line
    for the user; nothing was created)."""


_ADDRESS = re.compile(r"^(?:(?P<scheme>[a-z]+)://)?(?P<host>\[[0-9a-fA-F:.]+\]|[^\s:/\[\]]+)"
                      r":(?P<port>\d{1,5})/?$")


def check_scheduler(address: str, timeout: float = SCHEDULER_CONNECT_TIMEOUT) -> tuple[str, int]:
    """Check a Dask scheduler address before a run creates anything; return ``(host, port)``.

    The address must read ``tcp://host:port`` (``tls://`` too; without a scheme Dask assumes
    ``tcp://``), and something must accept a TCP connection there within ``timeout`` seconds.

    Raises
    ------
    SchedulerError
        One line naming the address, what was tried and what to do.
    """
    m = _ADDRESS.match(str(address).strip())
    if m is None or m["scheme"] not in (None, "tcp", "tls") or not 0 < int(m["port"]) < 65536:
        raise SchedulerError(f"--scheduler {address!r}: not a Dask scheduler address; expected "
                             "tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786")
    host, port = m["host"].strip("[]"), int(m["port"])
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        why = ("nothing answered within " f"{timeout:g} s" if isinstance(exc, TimeoutError)
               else (exc.strerror or str(exc) or type(exc).__name__).lower())
        raise SchedulerError(f"--scheduler {address}: cannot connect to {host}:{port} ({why}); "
                             "start a scheduler there (`dask scheduler --port "
                             f"{port}`) or leave out --scheduler to run on this machine") from None
    return host, port


# --------------------------------------------------------------------------- planning
def plan_blocks(n_sims: int, block_size: int) -> list[tuple[int, int]]:
    """Blocks ``[(start, stop), ...]`` covering ``range(n_sims)``, each ``block_size`` long
    (the last may be shorter). Block ``i`` starts at ``i * block_size``."""
    if n_sims < 1 or block_size < 1:
        raise ValueError("n_sims and block_size must be >= 1")
    return [(s, min(s + block_size, n_sims)) for s in range(0, n_sims, block_size)]


def estimate_seconds_per_sim(params) -> float:
    """Deterministic estimate of one simulation's cost on one core [s] (a fixed cost model).

    Individual cells and collective cells with cost noise cost about their expected number of
    events; collective cells without noise about their number of (cell, case group) pairs.
    """
    Y, R, S, C = params.shape
    n_cells = Y * R * S * C
    ibnr = np.asarray(params.ibnr_factor, dtype=float)
    work = 0.0
    for c in range(C):
        if params.method[c] == METHOD_COLLECTIVE and params.cost_noise_sigma == 0:
            groups = sum(params.case_mix[(r, c)].probability.size for r in range(R)) * Y * S
            work += COST_PER_GROUP * groups
        else:
            events = float((params.members * params.rate[..., c] * ibnr[c]).sum())
            work += COST_PER_EVENT * events
    return work + COST_PER_CELL * n_cells


def _nice_floor(x: float) -> int:
    """``floor(x)`` below 10, else the largest 1, 2 or 5 x 10^k not above ``x`` (at least 1)."""
    if x < 10:
        return max(1, int(x))
    k = 10 ** math.floor(math.log10(x))
    return int(max(m * k for m in (1, 2, 5) if m * k <= x))


def auto_block_size(params, n_sims: int | None = None) -> int:
    """Simulations per block so one task takes about :data:`TARGET_SECONDS` on one core.

    Deterministic (a cost model, no timing): the same parameters always give the same block
    size. Bounded by :data:`MAX_BLOCK_BYTES` of output per task, by ``n_sims / MIN_BLOCKS``
    (load balance) and by ``n_sims``; at least 1.
    """
    n_sims = int(params.n_sims if n_sims is None else n_sims)
    per_sim = estimate_seconds_per_sim(params)
    Y, R, S, C = params.shape
    bytes_per_sim = 8 * (Y * R * S * (6 * C + 4) + 8 * Y * max(R * S, 1))
    size = min(TARGET_SECONDS / per_sim, MAX_BLOCK_BYTES / bytes_per_sim, n_sims / MIN_BLOCKS)
    return max(1, min(_nice_floor(size), n_sims))


# --------------------------------------------------------------------------- the block task
def _default_engine() -> tuple[Callable, Callable]:
    from jkn_risk.simulate import prepare_run, simulate_block

    return prepare_run, simulate_block


def _simulate_range(prepared, start: int, stop: int, threads: int | None, simulate: Callable):
    """The dataset of sims ``start .. stop - 1`` (a block task kept in memory)."""
    return simulate(prepared, np.arange(start, stop, dtype=np.int64), threads=threads)


def _write_range(store: str | Path, prepared, start: int, stop: int, threads: int | None,
                 simulate: Callable) -> None:
    """Simulate sims ``start .. stop - 1`` and write them to ``store`` (a block task; the
    same one serially and on Dask workers). It does not mark the block done: the caller
    does, once it knows the write completed."""
    results.write_block(store, _simulate_range(prepared, start, stop, threads, simulate), start)


def _worker_threads() -> int | None:
    """Numba threads for a task on a Dask worker: 1, unless this worker process runs a single
    Dask thread and was given ``NUMBA_NUM_THREADS`` explicitly (then Numba's setting)."""
    try:
        from distributed import get_worker

        nthreads = get_worker().state.nthreads
    except Exception:  # pragma: no cover - not on a worker
        nthreads = 1
    if nthreads == 1 and os.environ.get("NUMBA_NUM_THREADS"):
        return None
    return 1


def _on_worker(task: Callable, prepared, start: int, stop: int, simulate: Callable):
    """A block task on a Dask worker, with the worker's Numba threads."""
    return task(prepared, start, stop, _worker_threads(), simulate)


# --------------------------------------------------------------------------- progress
class _Lines:
    """Progress for a log or a pipe (stderr is not a terminal): a line at each phase and at
    each tenth of the run, instead of a bar that only shows its last state."""

    def __init__(self, total: int, done: int, label: str, stream=None):
        self.total, self.done, self.label = total, done, label
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()
        self.next_tenth = done * 10 // max(total, 1) + 1

    def _print(self, text: str) -> None:
        print(f"{self.label}: {text}", file=self.stream, flush=True)

    def phase(self, text: str) -> None:
        self._print(text)

    def advance(self, n: int) -> None:
        self.done += n
        tenth = self.done * 10 // max(self.total, 1)
        if tenth >= self.next_tenth:
            self.next_tenth = tenth + 1
            self._print(f"{self.done:,}/{self.total:,} sims ({100 * self.done / self.total:.0f}%) "
                        f"in {time.perf_counter() - self.t0:,.1f} s")


class _Quiet:
    def phase(self, text: str) -> None:
        pass

    def advance(self, n: int) -> None:
        pass


def _progress_bar(enabled: bool, total: int, done: int, label: str):
    """A context giving ``phase(text)`` (what the run does before its first block ends:
    starting workers, loading the compiled kernels) and ``advance(n_sims)``: a rich bar on a
    terminal, a line per tenth of the run otherwise."""
    if not enabled:
        return nullcontext(_Quiet())
    if not sys.stderr.isatty():
        return nullcontext(_Lines(total, done, label))
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn,
                               TextColumn, TimeElapsedColumn, TimeRemainingColumn)
    from rich.text import Text

    class _Rate(ProgressColumn):
        def render(self, task):
            speed = task.finished_speed or task.speed
            return Text("-- sims/s" if speed is None else f"{speed:,.2f} sims/s")

    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("sims"), _Rate(), TimeElapsedColumn(), TextColumn("elapsed"),
                   TimeRemainingColumn(), TextColumn("left"), console=Console(stderr=True))

    class _Bar:
        def __init__(self, tid):
            self.tid, self.ticked = tid, False

        def phase(self, text: str) -> None:
            if not self.ticked:
                bar.update(self.tid, description=f"{label}: {text}")

        def advance(self, n: int) -> None:
            if not self.ticked:
                self.ticked = True
                bar.update(self.tid, description=label)
            bar.advance(self.tid, n)

    @contextmanager
    def ctx():
        with bar:
            yield _Bar(bar.add_task(label, total=total, completed=done))

    return ctx()


# --------------------------------------------------------------------------- clients
def _cores() -> int:
    """Cores this process may use (CPU affinity / cgroup-aware where the OS says)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


#: A worker preload given as source text (Dask runs it in each worker process at start).
_IGNORE_SIGINT = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"


@contextmanager
def _dask_client(workers: int | None, scheduler: str | None):
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError) as exc:  # a port that answers, but not as a scheduler
            raise SchedulerError(f"--scheduler {scheduler}: no Dask scheduler answered within "
                                 f"30 s ({type(exc).__name__}); is it a Dask scheduler's port?"
                                 ) from None
        try:
            yield client
        finally:
            client.close()
        return
    n = int(workers) if workers else _cores()
    # Workers' own log records stay quiet: a task's error reaches the caller through its
    # future (after retries), a lost worker as KilledWorker; what distributed logs at ERROR
    # here is the benign race of a worker heartbeat against the scheduler's shutdown.
    # Ctrl-C in a terminal reaches the worker processes too: they ignore it (each would print a
    # traceback) and this process stops them once it has kept the finished blocks.
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                      env={"NUMBA_NUM_THREADS": "1"}, dashboard_address=":0",
                      preload=[_IGNORE_SIGINT],
                      silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
        yield client


def _dispatch(task: Callable, keep: Callable, prepared, todo, blocks, simulate, bar, workers,
              scheduler, performance_report=None, announce: Callable | None = None) -> None:
    """Run ``task(prepared, start, stop, threads, simulate)`` for the blocks ``todo`` (indices
    into ``blocks``) and, in this process as each completes, ``keep(index, result)`` then
    advance ``bar``: serially here (``workers=0`` without a scheduler: Numba threads) or on
    Dask (a LocalCluster of ``workers`` processes, default one per core, or ``scheduler``)."""
    if workers == 0 and scheduler is None:
        bar.phase("loading kernels, first block")
        for i in todo:
            start, stop = blocks[i]
            keep(i, task(prepared, start, stop, None, simulate))
            bar.advance(stop - start)
        return
    from distributed import as_completed, performance_report as dask_report

    bar.phase(f"connecting to {scheduler}" if scheduler else
              f"starting {int(workers) if workers else _cores()} Dask workers")
    with _dask_client(workers, scheduler) as client:
        if announce is not None:
            announce(f"Dask dashboard: {client.dashboard_link}")
        report = (dask_report(filename=str(performance_report)) if performance_report
                  else nullcontext())
        with report:
            p = client.scatter(prepared, broadcast=True, hash=False)
            token = uuid.uuid4().hex[:8]
            futures = {client.submit(_on_worker, task, p, *blocks[i], simulate,
                                     key=f"jkn-block-{token}-{i}", retries=2, pure=False): i
                       for i in todo}
            bar.phase("workers loading kernels")
            try:
                for fut in as_completed(list(futures)):
                    i = futures[fut]
                    keep(i, fut.result())  # re-raises a task's error (after its retries)
                    # The block is kept: let the scheduler forget its result, or a worker lost
                    # later would make it recompute (and rewrite) finished blocks.
                    fut.release()
                    start, stop = blocks[i]
                    bar.advance(stop - start)
            finally:
                client.cancel([f for f in futures if not f.done()])


def simulate_blocks(prepared, blocks: list[tuple[int, int]], *, workers: int | None = 0,
                    scheduler: str | None = None, progress: bool = False, label: str = "run",
                    simulate: Callable | None = None) -> list:
    """Simulate ``blocks`` (``[(start, stop), ...]``) and return their datasets in block
    order, in memory (no store): serially in this process (``workers=0``, Numba threads) or
    on Dask (a LocalCluster of ``workers`` processes, default one per core, or ``scheduler``).
    """
    if workers is not None and workers < 0:
        raise ValueError(f"workers must be >= 0 (got {workers})")
    if scheduler is not None:
        check_scheduler(scheduler)
    simulate = simulate or _default_engine()[1]
    total = sum(b - a for a, b in blocks)
    out: list = [None] * len(blocks)
    with _progress_bar(progress, total, 0, label) as bar:
        _dispatch(_simulate_range, out.__setitem__, prepared, range(len(blocks)), blocks,
                  simulate, bar, workers, scheduler)
    return out


# --------------------------------------------------------------------------- run
def run(params, store: str | Path, *, workers: int | None = None, scheduler: str | None = None,
        resume: bool = False, overwrite: bool = False, progress: bool = True,
        performance_report: str | Path | None = None, announce: Callable = log.info,
        prepare: Callable | None = None, simulate: Callable | None = None) -> Path:
    """Run ``params.n_sims`` simulations into a resumable Zarr store.

    Parameters
    ----------
    params : Parameters
        Its ``n_sims``, ``seed`` and ``block_size`` (None: :func:`auto_block_size`) define the
        run; ``config_yaml`` is recorded in the store.
    store : path-like
        Zarr store (directory). With a Dask scheduler, on a filesystem the workers share.
    workers : int, optional
        ``0``: serial, in this process (Numba threads = all cores). ``N``: an embedded
        ``LocalCluster`` of N single-threaded worker processes. Default: one per core.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); ``workers`` is then ignored.
    resume : bool
        Continue an interrupted run: the store must come from the same config, seed and
        number of simulations; blocks already done are skipped (the store's block size is used).
    overwrite : bool
        Replace an existing store.
    progress : bool
        Show a rich progress bar on stderr.
    performance_report : path-like, optional
        With Dask: write Dask's HTML performance report of the run there.
    announce : callable
        Receives one-line messages for the user (the Dask dashboard's address).
    prepare, simulate : callable, optional
        ``prepare(params)`` builds once what every block shares (it must offer ``template()``
        and ``static()``), ``simulate(prepared, sims, threads=None) -> xr.Dataset`` runs one
        block; defaults :func:`jkn_risk.simulate.prepare_run` and
        :func:`jkn_risk.simulate.simulate_block`.

    Returns
    -------
    Path of the store.

    Raises
    ------
    ResultsExistError, ResumeMismatchError
        The store exists (without resume/overwrite) or belongs to another run.
    SchedulerError
        ``scheduler`` is not an address, or nothing answers there (checked before the store
        is created).
    Exception
        Whatever a block raised (on Dask, after 2 retries); the blocks already marked done
        are kept, and ``resume=True`` continues from them. A store this call created is
        removed again when the run stops (an error or KeyboardInterrupt) before any block
        is done.
    """
    if resume and overwrite:
        raise results.ResultsError("give --resume or --overwrite, not both")
    if workers is not None and workers < 0:
        raise results.ResultsError("--workers must be >= 0")
    if scheduler is not None:  # before anything is created
        check_scheduler(scheduler)
    default_prepare, default_simulate = _default_engine()
    prepare, simulate = prepare or default_prepare, simulate or default_simulate
    store = Path(store).absolute()
    n_sims = int(params.n_sims)
    prepared = prepare(params)
    created = False
    if resume and store.exists():
        block_size = results.check_resumable(store, params, n_sims, params.block_size)
    else:
        block_size = int(params.block_size or auto_block_size(params))
        results.create_store(store, params, n_sims, block_size, overwrite=overwrite,
                             template=prepared.template(), static=prepared.static())
        created = True
    try:
        _run_blocks(params, prepared, store, n_sims, block_size, simulate, workers, scheduler,
                    progress, performance_report, announce)
    except BaseException:  # an error or Ctrl-C: a store this call created and filled with
        if created and not results.completed_blocks(store):  # nothing would only block
            results.remove_store(store)                        # the next plain run
        raise
    return store


def _run_blocks(params, prepared, store, n_sims, block_size, simulate, workers, scheduler,
                progress, performance_report, announce) -> None:
    blocks = plan_blocks(n_sims, block_size)
    done = results.completed_blocks(store)
    todo = [i for i in range(len(blocks)) if i not in done]
    done_sims = sum(b - a for i, (a, b) in enumerate(blocks) if i in done)
    serial = workers == 0 and scheduler is None
    log.info("run %s: %d sims in %d blocks of %d (%d to do), %s", store, n_sims, len(blocks),
             block_size, len(todo), "serial" if serial else (scheduler or f"{workers} workers"))
    if not todo:
        return
    t0 = time.perf_counter()
    with _progress_bar(progress, n_sims, done_sims, params.name) as bar:
        _dispatch(partial(_write_range, str(store)), lambda i, _: results.mark_done(store, i),
                  prepared, todo, blocks, simulate, bar, workers, scheduler,
                  performance_report, announce)
    log.info("run %s: done in %.1f s", store, time.perf_counter() - t0)
