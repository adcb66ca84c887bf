"""CSV reading and validation, and the trajectory containers."""
import numpy as np
import pytest

from discover.data import DataError, Trajectory, TrajectorySet, check_enough_samples, read_csv


def rows(n=20, *, header="t,x,y", f=None):
    """A valid CSV text: t = 0.1 i, x = sin t, y = cos t (or f(i, t) → list of fields)."""
    lines = [header]
    for i in range(n):
        t = 0.1 * i
        fields = f(i, t) if f else [t, np.sin(t), np.cos(t)]
        lines.append(",".join(str(v) for v in fields))
    return "\n".join(lines) + "\n"


def with_value(row, col, value, n=20):
    """Valid t,x,y data with data row ``row`` (1-based), column index ``col`` replaced."""
    def f(i, t):
        fields = [t, np.sin(t), np.cos(t)]
        if i + 1 == row:
            fields[col] = value
        return fields
    return rows(n, f=f)


def two_traj(n1=10, n2=10, *, traj2="2", t2=None):
    def f(i, t):
        if i < n1:
            return [t, 1, np.sin(t)]
        tt = 0.1 * (i - n1) if t2 is None else t2(i - n1)
        return [tt, traj2, np.cos(tt)]
    return rows(n1 + n2, header="t,traj,x", f=f)


# (id, csv text, read_csv keywords, column named, data row named, words in the message)
BAD = [
    ("empty", "", {}, None, None, "empty"),
    ("blank", "\n\n  \n", {}, None, None, "empty"),
    ("header-only", "t,x,y\n", {}, None, None, "no data rows"),
    ("semicolons", "t;x;y\n0;1;2\n0.1;1;2\n", {}, None, None, "comma"),
    ("tabs", "t\tx\n0\t1\n", {}, None, None, "tabs"),
    ("no-time", rows(header="time,x,y"), {}, "t", None, "time column"),
    ("no-header", rows(header="0.0,1.5,2"), {}, None, None, "no header row"),
    ("duplicate", rows(header="t,x,x"), {}, "x", None, "twice"),
    ("empty-name", rows(header="t,,y"), {}, None, None, "no name"),
    ("orphan-velocity", rows(header="t,x,y_dot"), {}, "y_dot", None, "no column 'y'"),
    ("orphan-accel", rows(header="t,x,y_ddot"), {}, "y_ddot", None, "no column 'y'"),
    ("text", with_value(5, 1, "abc"), {}, "x", 5, "'abc' is not a number"),
    ("empty-value", with_value(7, 2, ""), {}, "y", 7, "empty value"),
    ("nan", with_value(3, 1, "nan"), {}, "x", 3, "not finite"),
    ("inf", with_value(4, 2, "-inf"), {}, "y", 4, "not finite"),
    ("nan-time", with_value(9, 0, "NaN"), {}, "t", 9, "not finite"),
    ("ragged", rows(5) + "0.5,1,2,3\n", {}, None, 6, "4 values"),
    ("traj-float", two_traj(traj2="1.5"), {}, "traj", 11, "not an integer"),
    ("traj-text", two_traj(traj2="b"), {}, "traj", 11, "not an integer"),
    ("backwards", with_value(6, 0, "0.05"), {}, "t", 6, "backwards"),
    ("repeated-t", with_value(6, 0, "0.4"), {}, "t", 6, "repeats"),
    ("backwards-in-traj", two_traj(t2=lambda k: 1.0 - 0.1 * k), {}, "t", 12, "trajectory 2"),
    ("too-short", rows(5), {}, None, 1, "at least 7"),
    ("too-short-traj", two_traj(10, 3), {}, "traj", 11, "trajectory 2: 3 samples"),
    ("min-samples", rows(20), {"min_samples": 30}, None, 1, "at least 30"),
    ("constant", rows(f=lambda i, t: [t, np.sin(t), 2.5]), {}, "y", None, "constant"),
    ("gap", rows(f=lambda i, t: [t + (5 if i >= 10 else 0), np.sin(t), np.cos(t)]), {}, "t", 11, "gap"),
    ("partial-velocity", rows(header="t,x,y,x_dot", f=lambda i, t: [t, t, t * t, 1]), {},
     "y_dot", None, "every coordinate"),
    ("missing-traj-col", rows(), {"traj": "run"}, "run", None, "no trajectory column"),
    ("missing-coordinate", rows(), {"coordinates": ["x", "z"]}, "z", None, "not found"),
    ("missing-velocity", rows(), {"coordinates": ["x"], "velocities": ["vx"]}, "vx", None, "not found"),
    ("velocity-count", rows(), {"coordinates": ["x", "y"], "velocities": ["x"]}, None, None,
     "1 velocity columns for 2"),
]


@pytest.mark.parametrize("name,text,kwargs,column,row,words", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_with_file_column_and_row(tmp_path, name, text, kwargs, column, row, words):
    path = tmp_path / f"{name}.csv"
    path.write_text(text)
    with pytest.raises(DataError) as info:
        read_csv(path, **kwargs)
    err = info.value
    msg = str(err)
    assert isinstance(err, ValueError)
    assert "\n" not in msg
    assert msg.startswith(str(path) + ": ")
    assert words in msg
    assert err.column == column
    if column is not None:
        assert f"column '{column}'" in msg
    assert err.row == row
    if row is not None:
        assert f"row {row} (line {row + 1})" in msg  # one header line, no blank lines


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_csv(tmp_path / "nope.csv")


def test_error_message_format():
    err = DataError("value 'abc' is not a number", file="data.csv", column="x", row=12, line=13)
    assert str(err) == "data.csv: column 'x', row 12 (line 13): value 'abc' is not a number"
    assert (err.file, err.column, err.row, err.line) == ("data.csv", "x", 12, 13)
    assert str(DataError("no data rows", file="d.csv")) == "d.csv: no data rows"


def test_blank_lines_keep_true_line_numbers(tmp_path):
    text = rows(10).replace("\n", "\n\n", 3)  # blank lines after the header and rows 1, 2
    lines = text.splitlines()
    k = next(i for i, s in enumerate(lines) if s.startswith("0.4"))
    lines[k] = "0.4,oops," + lines[k].split(",")[2]
    path = tmp_path / "blank.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as info:
        read_csv(path)
    assert (info.value.row, info.value.line) == (5, k + 1)


def test_check_enough_samples():
    check_enough_samples(10, 10)
    with pytest.raises(DataError, match="12 terms") as info:
        check_enough_samples(5, 12, "data.csv")
    assert str(info.value).startswith("data.csv: ")


# ---------------------------------------------------------------------- reading
def test_roles_by_contract(tmp_path):
    def f(i, t):
        return [t, i // 10, np.sin(t), np.cos(t), np.cos(t), -np.sin(t), -np.sin(t), -np.cos(t)]
    path = tmp_path / "d.csv"
    path.write_text(rows(30, header="t,traj,x,y,x_dot,y_dot,x_ddot,y_ddot", f=f))
    ts = read_csv(path)
    assert ts.coordinates == ["x", "y"]
    assert [tr.id for tr in ts.trajectories] == [0, 1, 2]
    assert ts.n_dof == 2 and ts.n_samples == 30 and ts.n_trajectories == 3
    assert ts.source == str(path)
    tr = ts.trajectories[1]
    assert tr.q.dtype == np.float64 and tr.q.shape == (10, 2)
    assert np.allclose(tr.qdot[:, 0], np.cos(tr.t)) and np.allclose(tr.qddot[:, 1], -np.cos(tr.t))


def test_role_overrides(tmp_path):
    def f(i, t):
        return [t, 7 if i < 10 else 8, np.sin(t), np.cos(t), 99.0 + i, -np.sin(t)]
    path = tmp_path / "d.csv"
    path.write_text(rows(20, header="time,run,theta,omega,extra,alpha", f=f))
    ts = read_csv(path, time="time", traj="run", coordinates=["theta"], velocities=["omega"],
                  accelerations={"theta": "alpha"})
    assert ts.coordinates == ["theta"]
    assert [tr.id for tr in ts.trajectories] == [7, 8]
    tr = ts.trajectories[0]
    assert np.allclose(tr.q[:, 0], np.sin(tr.t))
    assert np.allclose(tr.qdot[:, 0], np.cos(tr.t))
    assert np.allclose(tr.qddot[:, 0], -np.sin(tr.t))
    # traj=None: a column called traj would be a coordinate
    ts2 = read_csv(path, time="time", traj=None, coordinates=["theta", "omega"])
    assert ts2.n_trajectories == 1 and ts2.trajectories[0].qdot is None


def test_uneven_sampling_is_accepted(tmp_path):
    rng = np.random.default_rng(0)
    t = np.cumsum(0.01 * (1 + 0.5 * (rng.random(200) - 0.5)))
    path = tmp_path / "uneven.csv"
    TrajectorySet.from_arrays(t, np.sin(t), coordinates=["x"]).to_csv(path)
    ts = read_csv(path).with_derivatives()
    tr = ts.trajectories[0]
    assert np.max(np.abs(tr.qddot[:, 0] + np.sin(t))) < 1e-5
    assert ts.differentiators[0].method_ == ["finite_difference"]


def test_interleaved_trajectories_are_grouped(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(rows(20, header="t,traj,x", f=lambda i, t: [0.1 * (i // 2), i % 2, np.sin(i)]))
    ts = read_csv(path)
    assert [len(tr) for tr in ts.trajectories] == [10, 10]
    assert np.all(np.diff(ts.trajectories[1].t) > 0)


# ---------------------------------------------------------------------- containers
def make_set(n_traj=4, n=50, derivatives=True):
    t = np.arange(n) * 0.05
    parts = []
    for k in range(n_traj):
        q = np.column_stack([np.sin(t + k), np.cos(2 * t) * (k + 1)])
        parts.append(Trajectory(t.copy(), q,
                                np.column_stack([np.cos(t + k), -2 * np.sin(2 * t) * (k + 1)]) if derivatives else None,
                                np.column_stack([-np.sin(t + k), -4 * np.cos(2 * t) * (k + 1)]) if derivatives else None,
                                id=10 + k))
    return TrajectorySet(["x", "phi"], parts, "mem")


def test_round_trip_from_arrays_to_csv_read_csv(tmp_path):
    rng = np.random.default_rng(1)
    t = np.r_[np.arange(30) * 0.1, np.arange(25) * 0.1 + 3.0]
    traj = np.r_[np.full(30, 3), np.full(25, 5)]
    q, qd, qdd = (rng.standard_normal((55, 2)) for _ in range(3))
    ts = TrajectorySet.from_arrays(t, q, qdot=qd, qddot=qdd, coordinates=["r", "theta"], traj=traj)
    path = tmp_path / "rt.csv"
    ts.to_csv(path)
    assert path.read_text().splitlines()[0] == "t,traj,r,theta,r_dot,theta_dot,r_ddot,theta_ddot"
    back = read_csv(path)
    assert back.coordinates == ["r", "theta"]
    a, b = ts.stack(), back.stack()
    for key in ("t", "q", "qdot", "qddot", "traj"):
        assert np.array_equal(a[key], b[key]), key  # bit-exact floats


def test_round_trip_positions_only(tmp_path):
    t = np.linspace(0, 1, 11)
    ts = TrajectorySet.from_arrays(t, np.c_[t**2, np.sin(t)])
    path = tmp_path / "p.csv"
    ts.to_csv(path)
    assert path.read_text().splitlines()[0] == "t,q0,q1"
    back = read_csv(path)
    assert back.coordinates == ["q0", "q1"] and back.trajectories[0].qdot is None
    assert np.array_equal(back.trajectories[0].q, ts.trajectories[0].q)


def test_from_arrays_validates_like_a_file():
    t = np.arange(10) * 0.1
    with pytest.raises(DataError) as info:
        TrajectorySet.from_arrays(t, np.r_[np.sin(t[:4]), np.nan, np.sin(t[5:])], coordinates=["x"])
    assert (info.value.column, info.value.row) == ("x", 5)
    with pytest.raises(DataError, match="repeats"):
        TrajectorySet.from_arrays(np.r_[t[:5], t[4:9]], np.sin(np.arange(10)))
    with pytest.raises(ValueError, match="reserved"):
        TrajectorySet.from_arrays(t, np.sin(t), coordinates=["x_dot"])


def test_stack():
    s = make_set(3, 20).stack()
    assert s["t"].shape == (60,) and s["q"].shape == (60, 2) and s["qddot"].shape == (60, 2)
    assert s["traj"].tolist() == [10] * 20 + [11] * 20 + [12] * 20
    assert make_set(2, 20, derivatives=False).stack()["qdot"] is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_by_whole_trajectories(seed):
    ts = make_set(8, 20)
    train, val = ts.split(0.25, seed=seed)
    ids_t = [tr.id for tr in train.trajectories]
    ids_v = [tr.id for tr in val.trajectories]
    assert len(ids_v) == 2 and len(ids_t) == 6
    assert not set(ids_t) & set(ids_v)
    assert sorted(ids_t + ids_v) == list(range(10, 18))
    assert all(len(tr) == 20 for tr in train.trajectories + val.trajectories)  # never cut
    s_t, s_v = train.stack(), val.stack()
    assert not set(s_t["traj"]) & set(s_v["traj"])
    assert train.coordinates == val.coordinates == ["x", "phi"]


def test_split_two_trajectories_and_one():
    train, val = make_set(2, 20).split(0.9)
    assert train.n_trajectories == 1 and val.n_trajectories == 1
    (one,) = make_set(1, 40).trajectories
    ts = TrajectorySet(["x", "phi"], [one])
    train, val = ts.split(0.25)
    assert (train.n_samples, val.n_samples) == (30, 10)
    assert train.trajectories[0].t.max() < val.trajectories[0].t.min()
    assert np.array_equal(np.r_[train.trajectories[0].qddot, val.trajectories[0].qddot], one.qddot)
    with pytest.raises(ValueError):
        ts.split(1.5)


def test_with_derivatives_keeps_given_and_records_method():
    t = np.arange(0, 5, 0.01)
    q = np.c_[np.sin(t)]
    given = np.c_[np.cos(t)]
    ts = TrajectorySet.from_arrays(t, q, qdot=given, coordinates=["x"])
    out = ts.with_derivatives("fd")
    tr = out.trajectories[0]
    assert np.array_equal(tr.qdot, given) and np.array_equal(tr.q, q)
    assert np.max(np.abs(tr.qddot[:, 0] + np.sin(t))) < 1e-6  # q̈ from the given q̇
    assert ts.trajectories[0].qddot is None  # the original is untouched
    assert "finite differences" in out.describe_derivatives()
    full = out.with_derivatives("fd")
    assert full.differentiators == [None] and full.describe_derivatives().endswith("given")


def test_with_derivatives_too_short_for_differentiator():
    t = np.arange(5) * 0.1
    ts = TrajectorySet.from_arrays(t, t**2, min_samples=3)
    out = ts.with_derivatives("fd")
    assert np.allclose(out.trajectories[0].qddot, 2.0)
    tiny = TrajectorySet(["x"], [Trajectory(t[:3], (t[:3] ** 2)[:, None])], "f.csv")
    with pytest.raises(DataError, match="trajectory 0"):
        tiny.with_derivatives("fd")
