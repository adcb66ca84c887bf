#!/usr/bin/env python
"""Find the Lagrangian of a mechanical system from a CSV of its trajectories.

    python pipelines/discover.py DATA.csv --out DIR [--force]

Writes DIR/lagrangian.json, DIR/report.md (+ PNG figures) and the fitted model, loadable with
``discover.load(DIR)``.  Nothing partial: the results are written to a temporary folder that is
moved into place only when everything succeeded.  Bad input: a one-line error, exit status 2.
"""
from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
import time
from pathlib import Path

# pipelines/discover.py would shadow the installed discover package (Python puts a script's folder
# first on the import path): run again in safe-path mode (-P), with the same interpreter options
if __name__ == "__main__" and not sys.flags.safe_path:
    os.execv(sys.executable, [sys.executable, "-P", *sys.orig_argv[1:]])

import numpy as np  # noqa: E402



def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="CSV: column t, optional traj, coordinates, optional <c>_dot/<c>_ddot")
    p.add_argument("--out", required=True, help="results directory (must not exist unless --force)")
    p.add_argument("--force", action="store_true", help="overwrite an existing results directory")
    p.add_argument("--library", default="auto",
                   help="auto (search tiers), quadratic, trig, polynomial, central, trig+polynomial, or none "
                        "(only --terms)")
    p.add_argument("--terms", default=None,
                   help="extra candidate terms, SymPy, separated by ';' (e.g. \"cos(a-b)*a_dot*b_dot\")")
    p.add_argument("--method", choices=["auto", "strong", "weak"], default="auto",
                   help="strong: residual with estimated q̈; weak: integrated against test functions")
    p.add_argument("--differentiator", default="auto", help="auto, fd, savgol or spline")
    p.add_argument("--time", default="t", help="name of the time column")
    p.add_argument("--traj", default="traj", help="name of the trajectory-id column")
    p.add_argument("--coordinates", default=None, help="comma-separated coordinate columns (default: all others)")
    p.add_argument("--bodies", default=None,
                   help="coordinates grouped by body, bodies separated by ';', each body's 2 or 3 coordinates by ',' "
                        "in the same axis order (e.g. \"ax,ay;bx,by\" or \"sun_x,sun_y;earth_x,earth_y\"): the "
                        "pairwise-distance terms |r_i - r_j|^k, 1/|r_i - r_j| are built for them (default: bodies "
                        "found from names like x1,y1,x2,y2)")
    p.add_argument("--validation", type=float, default=0.25, help="held-out fraction")
    p.add_argument("--parsimony", type=float, default=0.25,
                   help="prefer a sparser model while its validation error is within this factor of the best")
    p.add_argument("--fallback-threshold", type=float, default=0.05,
                   help="a library model whose held-out q̈ error is below this (or below 3× the estimated "
                        "noise floor) is accepted; otherwise the MLP fallback is trained and returned only "
                        "if its held-out q̈ error is lower")
    p.add_argument("--no-fallback", action="store_true", help="never train the MLP fallback")
    p.add_argument("--model", choices=["auto", "mlp"], default="auto",
                   help="auto: a library model, or the MLP fallback when it is honestly better; "
                        "mlp: skip the library and train an MLP Lagrangian")
    p.add_argument("--mlp-epochs", type=int, default=200)
    p.add_argument("--refine", action="store_true",
                   help="stage 2: refine the coefficients on the q̈-loss (Adam + L1 through the engine); "
                        "kept only if the validation error does not grow")
    p.add_argument("--l1", type=float, default=0.0, help="L1 weight of the --refine step (0)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (refinement and MLP training)")
    friction = p.add_mutually_exclusive_group()
    friction.add_argument("--dissipation", action="store_true",
                   help="force linear friction, R = ½ Σ c_i q̇_i², into the model (default: tried, and kept "
                        "only when it earns its place)")
    friction.add_argument("--no-dissipation", action="store_true", help="never fit friction")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def fail(message: str, code: int = 2):
    """One line on stderr (messages from other libraries may hold newlines), then exit."""
    print("error: " + " ".join(str(message).split()), file=sys.stderr)
    sys.exit(code)


def build_library(args, coordinates, bodies=None):
    from discover.library import Custom, default_tiers

    if args.library == "auto" and not args.terms:
        return None
    tiers = dict(default_tiers(coordinates, max_terms=10**6, bodies=bodies))
    lib = None
    if args.library not in ("auto", "none"):
        if args.library not in tiers:
            fail(f"--library: unknown library {args.library!r}; choose auto, none or one of {', '.join(tiers)}")
        lib = tiers[args.library]
    elif args.library == "auto":
        lib = tiers["trig+polynomial"] if "trig+polynomial" in tiers else tiers["trig"]
    if args.terms:
        user = Custom([s.strip() for s in args.terms.split(";") if s.strip()])
        try:
            user.terms(coordinates)
        except Exception as exc:
            fail(f"--terms: {exc}")
        lib = user if lib is None else lib + user
    if lib is None:
        fail("--library none needs --terms")
    return lib


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    command = "python pipelines/discover.py " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    out = Path(args.out)
    if out.exists() and not args.force:
        fail(f"{out} exists; use --force to overwrite it")
    import torch

    from discover.data import DataError, read_csv
    from discover.model import FitFailedError

    torch.manual_seed(args.seed)
    coords = args.coordinates.split(",") if args.coordinates else None
    try:
        data = read_csv(args.data, time=args.time, traj=args.traj, coordinates=coords)
    except DataError as exc:
        fail(str(exc))
    except FileNotFoundError:
        fail(f"{args.data}: no such file")
    if args.model == "mlp" and any(tr.force is not None for tr in data.trajectories):
        fail(f"{args.data}: --model mlp does not take a known applied force (the <coordinate>_force columns); "
             "drop --model mlp to fit the library model")
    bodies = None
    if args.bodies is not None:
        from discover.bodies import check_bodies

        try:
            bodies = check_bodies(args.bodies, data.coordinates)
        except ValueError as exc:
            fail(f"--bodies: {exc}")
    library = build_library(args, data.coordinates, bodies)
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    t0 = time.time()
    log(f"discover: {args.data}: {len(data.trajectories)} trajectories, coordinates {data.coordinates}")
    warns: list[str] = []
    from discover.estimator import Discover
    from discover.neural import TrainingDivergedError

    dissipation = True if args.dissipation else (False if args.no_dissipation else "auto")
    try:
        result_ = Discover(library, fallback=not args.no_fallback, model=args.model,
                           fallback_threshold=args.fallback_threshold,
                           mlp_epochs=args.mlp_epochs, device=args.device, seed=args.seed,
                           validation=args.validation, differentiator=args.differentiator,
                           verbose=not args.quiet, method=args.method, parsimony=args.parsimony,
                           refine=args.refine, l1=args.l1, dissipation=dissipation, bodies=bodies).fit(data)
    except DataError as exc:
        fail(str(exc))
    except FitFailedError as exc:
        fail(f"{args.data}: {exc} (and --no-fallback was given)", code=1)
    except TrainingDivergedError as exc:
        fail(f"{args.data}: the MLP fallback diverged ({exc}); no Lagrangian was written", code=1)
    model, sparse_model = result_.model_, result_.sparse_
    warns += result_.warnings_
    log(f"discover: {result_.decision_}")
    accepted = model is sparse_model and result_.scores_.get("library", math.inf) <= result_.accept_below_
    sparse_error = None if accepted else result_.decision_

    fit_seconds = round(time.time() - t0, 2)
    # evaluation on held-out trajectories, prepared exactly as in the fit
    from discover.evaluation import evaluate
    from discover.reports.discovery import write_report

    prepared, desc, noise, val = result_.prepared_, result_.differentiator_, result_.noise_, result_.validation_
    ev = evaluate(model, val)
    conserved, series = None, None
    if model is sparse_model:  # symmetries and Noether charges of the closed form, checked on held-out data
        from discover.conserved import charge_series, conserved_quantities

        try:
            conserved = conserved_quantities(model.lagrangian(), model.coordinates_, val,
                                             friction=getattr(model, "damping_", None),
                                             coulomb=getattr(model, "coulomb_", None),
                                             coulomb_epsilon=getattr(model, "coulomb_epsilon_", None))
            series = charge_series(conserved, model.coordinates_, val)
        except Exception as exc:  # noqa: BLE001 - the symmetry search is a report, never a failed run
            warns.append(f"the symmetry search failed ({' '.join(str(exc).split())}); no conserved quantities listed")
    if model is sparse_model and args.no_dissipation and ev["energy_variation_on_data"] > 0.05:
        warns.append(f"the energy of the found L varies by {ev['energy_variation_on_data']:.0%} along the held-out "
                     "data: if the system loses energy to friction, drop --no-dissipation (friction is tried by default)")
    metrics = dict(getattr(model, "metrics_", {}) or {})
    metrics.update({k: ev[k] for k in ("rollout_valid_time", "rollout_duration", "rollout_energy_drift",
                                        "energy_variation_on_data")})
    metrics["selection"] = result_.summary()
    metrics["fit_seconds"] = fit_seconds
    metrics["fit_and_evaluation_seconds"] = round(time.time() - t0, 2)
    scale = np.concatenate([p.q_obs for p in prepared]).std(0)
    info = {
        "source": args.data, "coordinates": data.coordinates, "n_trajectories": len(data.trajectories),
        "n_samples": sum(len(p.t) for p in prepared),
        "dt": float(np.median(np.concatenate([np.diff(p.t) for p in prepared]))),
        "differentiator": desc, "relative_noise": float(np.max(noise / np.where(scale > 0, scale, 1))),
        "metrics": metrics, "validation": val,
        "bodies": getattr(sparse_model, "bodies_", []), "bodies_given": bodies is not None,
    }
    if sparse_model is not None and model is not sparse_model:
        metrics["sparse_model_rejected"] = str(sparse_model.lagrangian())
        metrics["sparse_validation_error"] = sparse_model.metrics_["validation_weak_acceleration_error"]

    # write everything into a temporary sibling folder, then move it into place
    from discover.io import save
    from discover.reports import atomic_results_dir

    with atomic_results_dir(out) as tmp:
        save(model, tmp, metrics=_jsonable(metrics), command=command, warnings=warns,
             **({} if conserved is None else {"conserved": conserved}))
        write_report(tmp, model=model, info=info, ev=ev, command=command, warnings=warns,
                     sparse_error=sparse_error, conserved=conserved, conserved_series=series)
    if not args.quiet:
        L = model.lagrangian()
        print(f"L = {L}" if L is not None else "model: MLP Lagrangian (no closed form)")
        print(f"results: {out}/ (report.md, lagrangian.json, figures)")
    return 0


def _jsonable(d):
    out = {}
    for k, v in d.items():
        if isinstance(v, (np.floating, float)):
            v = float(v)
            out[k] = v if math.isfinite(v) else None
        elif isinstance(v, (np.integer,)):
            out[k] = int(v)
        else:
            out[k] = v
    return out


if __name__ == "__main__":
    sys.exit(main())
