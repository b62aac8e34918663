import h5py
import numpy as np
import pytest

from particles import (
    EnergyParams,
    TrajectoryError,
    TrajectoryWriter,
    random_cloud,
    read_last_positions,
    read_trajectory,
    relax,
)


def _write(path, frames, **kwargs):
    T, n, d = frames.shape
    with TrajectoryWriter(path, n_particles=n, dimension=d,
                          parameters={"energy": {"s": 1.0}, "seed": 3, "note": "x"},
                          **kwargs) as w:
        for t in range(T):
            w.write(10 * t, frames[t], observables={"energy": float(t), "vec": np.arange(3) * t})
    return path


def test_round_trip(tmp_path):
    frames = np.random.default_rng(0).normal(size=(4, 7, 5))
    traj = read_trajectory(_write(tmp_path / "t.h5", frames))
    np.testing.assert_array_equal(traj.positions, frames)
    np.testing.assert_array_equal(traj.step, [0, 10, 20, 30])
    steps, energy = traj.observables["energy"]
    np.testing.assert_array_equal(energy, [0, 1, 2, 3])
    assert traj.observables["vec"][1].shape == (4, 3)
    assert traj.parameters["energy"]["s"] == 1.0 and traj.parameters["seed"] == 3
    assert traj.creator["name"] == "eccentric"
    np.testing.assert_array_equal(read_last_positions(tmp_path / "t.h5"), frames[-1])


def test_layout_is_h5md_1_1(tmp_path):
    path = _write(tmp_path / "t.h5", np.zeros((2, 3, 4)))
    with h5py.File(path, "r") as f:
        assert list(f["h5md"].attrs["version"]) == [1, 1]
        assert "name" in f["h5md/author"].attrs and "version" in f["h5md/creator"].attrs
        box = f["particles/cloud/box"]
        assert box.attrs["dimension"] == 4
        assert [b.decode() if isinstance(b, bytes) else b for b in box.attrs["boundary"]] == [
            "none"] * 4
        pos = f["particles/cloud/position"]
        assert pos["value"].shape == (2, 3, 4) and pos["value"].compression == "gzip"
        assert pos["value"].chunks is not None and pos["step"].shape == (2,)
        assert f["observables/energy/value"].shape == (2,)


def test_pyh5md_reads_our_positions(tmp_path):
    pyh5md = pytest.importorskip("pyh5md")
    frames = np.random.default_rng(1).normal(size=(3, 11, 6))
    path = _write(tmp_path / "t.h5", frames)
    with pyh5md.File(str(path), "r") as f:
        pos = pyh5md.element(f["particles/cloud"], "position")
        np.testing.assert_array_equal(pos.value[:], frames)
        np.testing.assert_array_equal(pos.step[:], [0, 10, 20])
        energy = pyh5md.element(f["observables"], "energy")
        np.testing.assert_array_equal(energy.value[:], [0, 1, 2])


def test_mdanalysis_reads_a_3d_trajectory(tmp_path):
    h5md_reader = pytest.importorskip("MDAnalysis.coordinates.H5MD")
    frames = np.random.default_rng(2).normal(size=(3, 20, 3))
    path = _write(tmp_path / "t.h5", frames)
    reader = h5md_reader.H5MDReader(str(path), convert_units=False)
    assert reader.n_frames == 3 and reader.n_atoms == 20
    for t, ts in enumerate(reader):
        np.testing.assert_allclose(ts.positions, frames[t], rtol=1e-6, atol=1e-6)
        assert ts.dimensions is None  # open boundaries
    reader.close()


def test_existing_file_is_never_replaced_without_overwrite(tmp_path):
    path = _write(tmp_path / "t.h5", np.ones((1, 2, 2)))
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="exists"):
        TrajectoryWriter(path, n_particles=2, dimension=2)
    assert path.read_bytes() == before
    _write(path, np.zeros((2, 2, 2)), overwrite=True)
    assert read_trajectory(path).n_frames == 2


def test_interrupted_writer_leaves_a_readable_file(tmp_path):
    path = tmp_path / "t.h5"
    w = TrajectoryWriter(path, n_particles=3, dimension=2)
    w.write(0, np.ones((3, 2)))
    w.write(1, 2 * np.ones((3, 2)))
    # no close(): another reader opens what was flushed so far
    traj = read_trajectory(path)
    assert traj.n_frames == 2 and traj.positions[1, 0, 0] == 2.0
    w.close()


def test_writer_rejects_wrong_shapes(tmp_path):
    with TrajectoryWriter(tmp_path / "t.h5", n_particles=3, dimension=2) as w:
        with pytest.raises(ValueError, match="shape"):
            w.write(0, np.ones((3, 3)))
        w.write_fixed("label", np.arange(3))
    assert list(read_trajectory(tmp_path / "t.h5").fixed["label"]) == [0, 1, 2]


def test_reader_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_trajectory(tmp_path / "missing.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(TrajectoryError, match="not a readable HDF5"):
        read_trajectory(tmp_path / "junk.h5")
    with h5py.File(tmp_path / "plain.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(TrajectoryError, match="not an H5MD"):
        read_last_positions(tmp_path / "plain.h5")


def test_relax_writes_every_k_steps_and_the_last_frame(tmp_path):
    p = EnergyParams(s=1.0)
    r = relax(random_cloud(30, 3, p, seed=0), p, fmax=1e-4, every=7, out=tmp_path / "r.h5",
              metadata={"seed": 0})
    traj = read_trajectory(tmp_path / "r.h5")
    expected = sorted(set(range(0, r.steps + 1, 7)) | {r.steps})
    assert list(traj.step) == expected
    np.testing.assert_array_equal(traj.positions[-1], r.positions)
    steps, energy = traj.observables["energy"]
    assert energy[-1] == r.energy and list(steps) == expected
    assert traj.observables["max_force"][1][-1] == r.max_force
    assert traj.parameters["energy"]["s"] == 1.0
    assert traj.parameters["minimizer"]["method"] == "lbfgs"  # the default
    assert "command_line" in traj.parameters and traj.creator["version"]


def test_reopen_truncates_and_appends(tmp_path):
    frames = np.random.default_rng(3).normal(size=(4, 5, 2))
    path = _write(tmp_path / "t.h5", frames)  # steps 0, 10, 20, 30
    with TrajectoryWriter.reopen(path, truncate_after=10) as w:
        w.write(20, frames[0], observables={"energy": 9.0})
    traj = read_trajectory(path)
    assert list(traj.step) == [0, 10, 20]
    np.testing.assert_array_equal(traj.positions[2], frames[0])
    assert list(traj.observables["energy"][1]) == [0.0, 1.0, 9.0]
    assert list(traj.observables["vec"][0]) == [0, 10]
