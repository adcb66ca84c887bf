"""Simulate a reference system and write its trajectories as a CSV (the discover input contract).

Columns: ``t``, ``traj``, one per coordinate, and ``<coord>_dot`` with ``--velocities``.
``--drive COORD=EXPR`` applies a known generalized force Q(t) (a SymPy expression in ``t``) to a
coordinate and writes it as ``<coord>_force`` (exact, also with noise on the positions).
Positions may carry Gaussian noise: ``--noise`` (absolute σ) and/or ``--noise-rel`` (σ as a
fraction of each coordinate's standard deviation over the whole file); velocities stay exact.

Example:
    python pipelines/simulate.py double_pendulum --n-traj 4 --duration 10 --dt 0.01 \\
        --substeps 10 --seed 0 --out data/double_pendulum.csv
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np


# pipelines/discover.py would shadow the installed discover package (Python puts a script's folder
# first on the import path): run again in safe-path mode (-P), with the same interpreter options
if __name__ == "__main__" and not sys.flags.safe_path:
    os.execv(sys.executable, [sys.executable, "-P", *sys.orig_argv[1:]])



class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit status 2, no usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parse_param(text: str) -> tuple[str, float]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--param expects KEY=VALUE, got {text!r}")
    try:
        return key.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--param {key}: {value!r} is not a number") from None


def _parse_drive(text: str) -> tuple[str, object]:
    import sympy

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"--drive expects COORD=EXPR, got {text!r}")
    try:
        expr = sympy.sympify(value, locals={"t": sympy.Symbol("t")})
    except (sympy.SympifyError, SyntaxError, TypeError) as exc:
        raise argparse.ArgumentTypeError(f"--drive {key}: {' '.join(str(exc).split())}") from None
    extra = expr.free_symbols - {sympy.Symbol("t")}
    if extra:
        raise argparse.ArgumentTypeError(f"--drive {key}: the force may depend on t only, not on {sorted(map(str, extra))}")
    return key.strip(), expr


def _positive(kind):
    def parse(text):
        try:
            x = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {kind.__name__}") from None
        if not x > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return x

    return parse


def _nonnegative(text):
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not x >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return x


SYSTEM_NAMES = ("harmonic, harmonic_1d, harmonic_2d, harmonic_3d, magnetic_2d, magnetic_3d, pendulum, "
                "double_pendulum, relativistic, kepler, chain, driven_oscillator, elastic_pendulum, "
                "spherical_pendulum, bead_on_hoop, cart_pole, spring_pair")


def build_parser() -> argparse.ArgumentParser:
    # no discover (torch) import here: argument errors are reported at once
    p = _Parser(prog="simulate.py", description=__doc__.split("\n\n")[0])
    p.add_argument("system", help=f"reference system: {SYSTEM_NAMES} "
                   "(also sized names such as harmonic_5d, chain_6)")
    p.add_argument("--param", action="append", type=_parse_param, default=[], metavar="KEY=VALUE",
                   help="override a system parameter (repeatable), e.g. --param l=2 --param n=3")
    p.add_argument("--n-traj", type=_positive(int), default=4, help="number of trajectories (4)")
    p.add_argument("--dt", type=_positive(float), default=0.01, help="output time step (0.01)")
    p.add_argument("--duration", type=_positive(float), default=10.0, help="length of each trajectory (10)")
    p.add_argument("--substeps", type=_positive(int), default=10,
                   help="integration steps per output step (10)")
    p.add_argument("--method", default="rk4", choices=("rk4", "variational", "euler"),
                   help="integrator (rk4)")
    p.add_argument("--noise", type=_nonnegative, default=0.0, help="absolute Gaussian σ on positions (0)")
    p.add_argument("--noise-rel", type=_nonnegative, default=0.0,
                   help="Gaussian σ on positions relative to each coordinate's std (0)")
    p.add_argument("--velocities", action="store_true", help="also write exact <coord>_dot columns")
    p.add_argument("--friction", type=_nonnegative, default=0.0,
                   help="linear friction c: force −c q̇ on every coordinate (0; rk4 or euler)")
    p.add_argument("--drive", action="append", type=_parse_drive, default=[], metavar="COORD=EXPR",
                   help="known applied force on a coordinate, a SymPy expression in t, e.g. "
                        "\"theta=0.3*sin(2.1*t)\" (repeatable; written as <coord>_force; rk4 or euler)")
    p.add_argument("--seed", type=int, default=0, help="random seed for initial states and noise (0)")
    p.add_argument("--out", required=True, help="CSV file to write")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out")
    return p


def simulate(system, *, n_traj: int, dt: float, duration: float, substeps: int, method: str,
             seed: int, noise: float = 0.0, noise_rel: float = 0.0, velocities: bool = False,
             friction: float = 0.0, drive: dict | None = None):
    """A ``pandas.DataFrame`` of ``n_traj`` trajectories of ``system`` (see module docstring);
    ``friction`` c > 0 adds the force −c q̇ (Rayleigh function ½ c Σ q̇ᵢ²; explicit methods);
    ``drive`` maps coordinates to SymPy expressions Q(t) of known applied forces."""
    import pandas as pd
    import torch

    from discover.dissipation import friction_acceleration
    from discover.integrate import rollout

    rng = np.random.default_rng(seed)
    q0, qdot0 = system.sample_initial_states(n_traj, rng)
    n_steps = int(round(duration / dt))
    t = np.arange(n_steps + 1) * dt
    force = _force_of_time(system.coordinates, drive) if drive else None
    forced = friction_acceleration(system, friction, force)
    out = rollout(system, torch.as_tensor(q0), torch.as_tensor(qdot0), torch.as_tensor(t),
                  method=method, substeps=substeps, compute_energy=False, acceleration=forced)
    q, qdot = out.q.numpy(), out.qdot.numpy()  # (T, n_traj, n)
    if noise or noise_rel:
        sigma = np.hypot(noise, noise_rel * q.reshape(-1, q.shape[-1]).std(0))
        q = q + rng.normal(size=q.shape) * sigma
    T, B, n = q.shape
    cols = {"t": np.tile(t, B), "traj": np.repeat(np.arange(B), T)}
    for i, c in enumerate(system.coordinates):
        cols[c] = q[:, :, i].T.reshape(-1)
    if velocities:
        for i, c in enumerate(system.coordinates):
            cols[f"{c}_dot"] = qdot[:, :, i].T.reshape(-1)
    if drive:
        Q = np.stack([force(s) for s in t])  # (T, n): the same known force in every trajectory
        for i, c in enumerate(system.coordinates):
            if c in drive:
                cols[f"{c}_force"] = np.tile(Q[:, i], B)
    return pd.DataFrame(cols)


def _force_of_time(coordinates, drive: dict):
    """Q(t) → (n,) float array from the ``--drive`` expressions (0 on undriven coordinates)."""
    import sympy

    t = sympy.Symbol("t")
    fns = [sympy.lambdify(t, drive.get(c, sympy.Integer(0)), "numpy") for c in coordinates]
    return lambda s: np.array([float(f(float(s))) for f in fns])


def write_csv_atomic(frame, path: str) -> None:
    """Write ``frame`` to ``path`` through a temporary file, so no partial CSV is ever left."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".simulate-", suffix=".csv", dir=directory)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            frame.to_csv(fh, index=False, float_format="%.12g")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from discover.systems import get_system

    params = dict(args.param)
    try:
        system = get_system(args.system, **params)
    except ValueError as exc:
        parser.error(str(exc))
    if os.path.exists(args.out) and not args.force:
        parser.error(f"{args.out} exists; pass --force to overwrite it")
    directory = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(directory):
        parser.error(f"directory {directory} does not exist")
    if args.dt * args.substeps <= 0 or args.duration < args.dt:
        parser.error("--duration must be at least one --dt")
    if args.friction and args.method == "variational":
        parser.error("--friction needs an explicit method (--method rk4 or euler)")
    drive = dict(args.drive)
    unknown = [c for c in drive if c not in system.coordinates]
    if unknown:
        parser.error(f"--drive {unknown[0]}: not a coordinate of {system.name} ({', '.join(system.coordinates)})")
    if drive and args.method == "variational":
        parser.error("--drive needs an explicit method (--method rk4 or euler)")

    try:
        frame = simulate(system, n_traj=args.n_traj, dt=args.dt, duration=args.duration,
                         substeps=args.substeps, method=args.method, seed=args.seed,
                         noise=args.noise, noise_rel=args.noise_rel, velocities=args.velocities,
                         friction=args.friction, drive=drive)
    except (ValueError, RuntimeError) as exc:  # singular mass matrix, Newton failure, …
        print(f"{parser.prog}: simulation failed: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    write_csv_atomic(frame, args.out)
    n_traj = args.n_traj
    print(f"wrote {args.out}: {system.name} {system.params}, {n_traj} trajectories × "
          f"{len(frame) // n_traj} samples, columns {list(frame.columns)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
