"""H5MD 1.1 trajectories: one writer and one reader for particle clouds and latent codes.

Layout (https://www.nongnu.org/h5md/h5md.html, version 1.1)::

    /h5md                         attrs version=[1, 1]; author/name; creator/name, creator/version
    /particles/<group>/box        attrs dimension=d, boundary=["none"] * d (no edges: open space)
    /particles/<group>/position/  value[T, N, d], step[T], time[T]
    /particles/<group>/<fixed>    optional time-independent per-particle data (e.g. labels)
    /observables/<name>/          value[T, ...], step[T], time[T]
    /parameters                   free-form attributes and subgroups (energy, minimizer, seed, ...)

Time-dependent datasets are chunked, gzip-compressed and the file is flushed at every
write, so an interrupted run leaves a readable file with every frame written so far.
Positions are dimensionless (no ``unit`` attribute): MDAnalysis reads them with
``convert_units=False``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

__all__ = ["TrajectoryWriter", "Trajectory", "read_trajectory", "read_last_positions",
           "TrajectoryError"]

H5MD_VERSION = (1, 1)
_CHUNK_BYTES = 1 << 20  # target bytes per position chunk


class TrajectoryError(ValueError):
    """A file that is not a readable H5MD trajectory of the expected shape."""


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("eccentric")
    except Exception:  # pragma: no cover - running from a source tree without install
        return "unknown"


def _set_attr(attrs: h5py.AttributeManager, key: str, value: Any) -> None:
    if value is None:
        attrs[key] = "None"
    elif isinstance(value, (str, bool, int, float, np.number, np.bool_)):
        attrs[key] = value
    elif isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value)
        if arr.dtype.kind in "US" or arr.dtype == object:
            attrs[key] = [str(v) for v in value]
        else:
            attrs[key] = arr
    else:
        attrs[key] = json.dumps(value, default=str)


def _write_parameters(group: h5py.Group, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        if isinstance(value, Mapping):
            _write_parameters(group.require_group(str(key)), value)
        else:
            _set_attr(group.attrs, str(key), value)


def _read_parameters(group: h5py.Group) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in group.attrs.items():
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, np.ndarray) and value.dtype.kind in "OS":
            value = [v.decode() if isinstance(v, bytes) else str(v) for v in value]
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    for key, sub in group.items():
        if isinstance(sub, h5py.Group):
            out[key] = _read_parameters(sub)
    return out


def _time_element(parent: h5py.Group, name: str, frame_shape: tuple[int, ...],
                  dtype: np.dtype) -> h5py.Group:
    """Create an H5MD time-dependent element with resizable value, step and time."""
    g = parent.create_group(name)
    itemsize = np.dtype(dtype).itemsize
    if frame_shape:
        rows = max(1, min(frame_shape[0], _CHUNK_BYTES // (itemsize * int(np.prod(frame_shape[1:])))))
        chunks = (1, rows, *frame_shape[1:])
    else:
        chunks = (1024,)
    g.create_dataset("value", shape=(0, *frame_shape), maxshape=(None, *frame_shape),
                     dtype=dtype, chunks=chunks, compression="gzip", compression_opts=4,
                     shuffle=True)
    g.create_dataset("step", shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(1024,))
    g.create_dataset("time", shape=(0,), maxshape=(None,), dtype=np.float64, chunks=(1024,))
    return g


def _append(element: h5py.Group, value: Any, step: int, time: float) -> None:
    t = element["step"].shape[0]
    for name in ("value", "step", "time"):
        element[name].resize(t + 1, axis=0)
    element["value"][t] = value
    element["step"][t] = step
    element["time"][t] = time


class TrajectoryWriter:
    """Write an H5MD 1.1 trajectory of one particle group, frame by frame.

    ``path`` must not exist unless ``overwrite``; the check happens at construction, before
    any work, so an existing result is never lost by accident. Use as a context manager.

    Parameters: n_particles, dimension: shape (N, d) of every frame. group: name of the
    particles group ("cloud" for relaxations, "latent" for autoencoder probes).
    parameters: nested mapping stored as attributes under ``/parameters``.
    """

    def __init__(self, path: str | os.PathLike, *, n_particles: int, dimension: int,
                 group: str = "cloud", dtype: np.dtype | type = np.float64,
                 parameters: Mapping[str, Any] | None = None, overwrite: bool = False,
                 author: str = "eccentric user") -> None:
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise FileExistsError(f"output file {self.path} exists (pass overwrite to replace it)")
        if self.path.is_dir():
            raise IsADirectoryError(f"output path {self.path} is a directory")
        if not self.path.parent.exists():
            raise FileNotFoundError(f"output directory {self.path.parent} does not exist")
        self.n_particles, self.dimension, self.group = int(n_particles), int(dimension), group
        self._file = h5py.File(self.path, "w")
        f = self._file
        h5md = f.create_group("h5md")
        h5md.attrs["version"] = np.array(H5MD_VERSION, dtype=np.int32)
        f.create_group("h5md/author").attrs["name"] = author
        creator = f.create_group("h5md/creator")
        creator.attrs["name"] = "eccentric"
        creator.attrs["version"] = _package_version()
        particles = f.create_group(f"particles/{group}")
        box = particles.create_group("box")
        box.attrs["dimension"] = np.int32(self.dimension)
        box.attrs["boundary"] = np.array(["none"] * self.dimension, dtype=h5py.string_dtype())
        self._position = _time_element(particles, "position",
                                       (self.n_particles, self.dimension), np.dtype(dtype))
        self._observables = f.create_group("observables")
        _write_parameters(f.create_group("parameters"), parameters or {})
        f.flush()

    @classmethod
    def reopen(cls, path: str | os.PathLike, truncate_after: int | None = None
               ) -> TrajectoryWriter:
        """Open a trajectory we wrote to append more frames (e.g. a resumed run), first
        dropping every frame and observable recorded after step ``truncate_after``."""
        f = _open_h5md(path)
        f.close()
        self = cls.__new__(cls)
        self.path = Path(path)
        self._file = h5py.File(self.path, "a")
        particles = self._file["particles"]
        self.group = list(particles)[0]
        self._position = particles[self.group]["position"]
        _, self.n_particles, self.dimension = self._position["value"].shape
        self._observables = self._file.require_group("observables")
        if truncate_after is not None:
            for element in (self._position, *self._observables.values()):
                keep = int(np.count_nonzero(element["step"][()] <= truncate_after))
                for name in ("value", "step", "time"):
                    element[name].resize(keep, axis=0)
        self._file.flush()
        return self

    def write_fixed(self, name: str, data: np.ndarray) -> None:
        """Store time-independent per-particle data (first axis N) as /particles/<group>/<name>."""
        data = np.asarray(data)
        if data.shape[:1] != (self.n_particles,):
            raise ValueError(f"{name} must have first axis {self.n_particles}, got {data.shape}")
        self._file[f"particles/{self.group}"].create_dataset(name, data=data)
        self._file.flush()

    def write(self, step: int, positions: np.ndarray, *, time: float | None = None,
              observables: Mapping[str, Any] | None = None) -> None:
        """Append one frame: positions (N, d) at integer step, and scalar or array observables."""
        positions = np.asarray(positions)
        if positions.shape != (self.n_particles, self.dimension):
            raise ValueError(f"positions must have shape ({self.n_particles}, "
                             f"{self.dimension}), got {positions.shape}")
        t = float(step if time is None else time)
        _append(self._position, positions, int(step), t)
        if observables:
            self.write_observables(step, observables, time=t, flush=False)
        self._file.flush()

    def write_observables(self, step: int, observables: Mapping[str, Any], *,
                          time: float | None = None, flush: bool = True) -> None:
        """Append observables (name -> scalar or array) at a step, creating them on first use."""
        t = float(step if time is None else time)
        for name, value in observables.items():
            value = np.asarray(value)
            if name not in self._observables:
                dtype = np.float64 if value.dtype.kind in "fb" else value.dtype
                _time_element(self._observables, name, value.shape, dtype)
            _append(self._observables[name], value, int(step), t)
        if flush:
            self._file.flush()

    def close(self) -> None:
        if self._file.id.valid:
            self._file.close()

    def __enter__(self) -> TrajectoryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Trajectory:
    """A trajectory read back: positions (T, N, d) with their steps and times, observables
    as name -> (step[T'], value[T', ...]), fixed per-particle data, and parameters."""

    group: str
    positions: np.ndarray
    step: np.ndarray
    time: np.ndarray
    observables: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    fixed: dict[str, np.ndarray] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    creator: dict[str, str] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return int(self.positions.shape[0])


def _open_h5md(path: str | os.PathLike) -> h5py.File:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"trajectory file {path} does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise TrajectoryError(f"{path} is not a readable HDF5 file ({exc})") from None
    if "h5md" not in f or "particles" not in f or not len(f["particles"]):
        f.close()
        raise TrajectoryError(f"{path} is not an H5MD file (no /h5md or /particles group)")
    return f


def _pick_group(f: h5py.File, path: Any, group: str | None) -> h5py.Group:
    names = list(f["particles"])
    name = names[0] if group is None else group
    if name not in f["particles"] or "position" not in f["particles"][name]:
        raise TrajectoryError(f"{path} has no /particles/{name}/position (groups: {names})")
    return f["particles"][name]


def read_trajectory(path: str | os.PathLike, group: str | None = None,
                    frames: slice | int | None = None) -> Trajectory:
    """Read an H5MD trajectory (ours or any with /particles/<group>/position).

    group: particles group to read (default: the first). frames: a slice or index of the
    time axis (default: all frames).
    """
    sel = slice(None) if frames is None else frames
    with _open_h5md(path) as f:
        g = _pick_group(f, path, group)
        pos = g["position"]
        positions = np.asarray(pos["value"][sel])
        if positions.ndim == 2:
            positions = positions[None]
        step = np.atleast_1d(np.asarray(pos["step"][sel]))
        time = np.atleast_1d(np.asarray(pos["time"][sel])) if "time" in pos else step.astype(float)
        observables = {}
        for name, el in f.get("observables", {}).items():
            if isinstance(el, h5py.Group) and "value" in el and "step" in el:
                observables[name] = (np.asarray(el["step"][()]), np.asarray(el["value"][()]))
        fixed = {name: np.asarray(ds[()]) for name, ds in g.items()
                 if isinstance(ds, h5py.Dataset)}
        parameters = _read_parameters(f["parameters"]) if "parameters" in f else {}
        creator = {k: (v.decode() if isinstance(v, bytes) else str(v))
                   for k, v in f["h5md/creator"].attrs.items()} if "h5md/creator" in f else {}
        return Trajectory(group=g.name.rsplit("/", 1)[-1], positions=positions, step=step,
                          time=time, observables=observables, fixed=fixed,
                          parameters=parameters, creator=creator)


def read_last_positions(path: str | os.PathLike, group: str | None = None) -> np.ndarray:
    """The last frame's positions (N, d) of an H5MD trajectory, e.g. to restart from it."""
    with _open_h5md(path) as f:
        value = _pick_group(f, path, group)["position/value"]
        if value.ndim != 3 or value.shape[0] == 0:
            raise TrajectoryError(f"{path} has no position frames")
        return np.asarray(value[-1])
