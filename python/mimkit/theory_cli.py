"""``mimkit theory LINK``: which loss to use, from the theory alone (no data, no training).

Prints :func:`mimkit.theory.compare_losses`: per built-in loss (and the optimal spectral
method as the reference) the weak-recovery thresholds, the predicted overlap
``1 - subspace_distance`` at each ``--alpha`` and, with ``--d``, the predicted phase-1 window in
T1. Expectations are by quadrature for r <= 3 (:mod:`mimkit._label_law`), else Monte Carlo
(``--samples``, ``--seed``). A link the theory does not cover (``theory_covers`` false or
unknown) gets a note saying so above the table, as ``mimkit run`` does. Below it, the learning
order (:func:`mimkit.theory.learning_stages`): per stage its kind (trivial, easy, hard), its
directions and AMP's threshold, with the earlier stages at their fixed point and known exactly.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from .links import DEPRECATED_NAMES, LINKS, get_link


def add_subcommand(subparsers) -> None:
    """Register ``theory`` on the ``mimkit`` parser."""
    theory = subparsers.add_parser(
        "theory",
        help="predicted thresholds, overlaps and T1 windows of every loss for a link",
        description="Asymptotic theory of the network's phase 1 with each built-in loss "
        "(T(y) = -loss'(c, y)) and of the optimal spectral method: thresholds alpha_c, "
        "the overlap 1 - subspace distance at each --alpha, and with --d the window of "
        "phase-1 steps T1 in which every direction is carried by >= 10%% of the neurons.",
    )
    theory.add_argument("link", choices=sorted([*LINKS, *DEPRECATED_NAMES]), help="library link")
    theory.add_argument("--r", type=int, help="size of he2_sum / norm2 / tanh_committee")
    theory.add_argument(
        "--alpha", type=float, nargs="+", default=[2.0, 4.0, 16.0], help="n1 / d (default 2 4 16)"
    )
    theory.add_argument("--d", type=int, help="input dimension for the T1 window")
    theory.add_argument("--max-steps", type=int, default=300, help="longest T1 (default 300)")
    theory.add_argument("--noise", type=float, default=0.0, help="label noise sd (default 0)")
    theory.add_argument(
        "--samples",
        type=int,
        default=200_000,
        help="Monte Carlo samples, used for r > 3 (default 200000; r <= 3: quadrature)",
    )
    theory.add_argument("--seed", type=int, default=0, help="Monte Carlo seed (default 0)")
    theory.add_argument("--json", action="store_true", help="print the table as JSON records")
    theory.add_argument(
        "--no-cache",
        action="store_true",
        help="compute afresh, neither reading nor writing the user cache folder "
        "($MIMKIT_CACHE_DIR, else $XDG_CACHE_HOME/mimkit or ~/.cache/mimkit)",
    )
    theory.set_defaults(func=cmd_theory)


def cmd_theory(args: argparse.Namespace) -> int:
    from .theory import compare_losses, learning_stages
    from .theory_cache import cached, use_cache, user_cache

    settings = dict(
        alpha=args.alpha,
        d=args.d,
        r=args.r,
        max_steps=args.max_steps,
        noise=args.noise,
        n_samples=args.samples,
        random_state=args.seed,
    )
    try:
        with use_cache(user_cache(not args.no_cache)):
            rows = cached(
                "mimkit.theory.compare_losses",
                {"link": args.link, **settings, "as_frame": False},
                lambda: compare_losses(args.link, **settings, as_frame=False),
            )
            stages = cached(
                "mimkit.theory.learning_stages",
                {
                    "link": args.link,
                    "r": args.r,
                    "noise": args.noise,
                    "n_samples": args.samples,
                    "random_state": args.seed,
                },
                lambda: learning_stages(
                    args.link,
                    args.r,
                    noise=args.noise,
                    n_samples=args.samples,
                    random_state=args.seed,
                ),
            )
    except (ValueError, TypeError) as err:
        print(f"mimkit theory: {err}", file=sys.stderr)
        return 2
    covers = get_link(args.link, args.r).theory_covers
    note = None
    if not covers:
        note = (
            f"note: link {args.link!r} is outside the theory (theory covers: "
            f"{'no' if covers is False else 'unknown'}); these numbers need not describe training."
        )
    if args.json:
        records = [
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in row.items()
            }
            for row in rows
        ]
        order = [
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in rec.items()
            }
            for rec in stages.records()
        ]
        document = {
            "link": args.link,
            "d": args.d,
            "theory_covers": covers,
            "rows": records,
            "learning_stages": order,
        }
        print(json.dumps(document, indent=2))
        return 0
    if note is not None:
        print(note)
    print(f"link {args.link}: thresholds alpha_c, overlap 1 - subspace distance at n1 = alpha d")
    if args.d is not None:
        print(f"T1 window at d = {args.d}: steps where every direction has coverage >= 0.1")
    print(format_rows(rows))
    print()
    print(
        "learning order (Bayes-optimal AMP; alpha_c: earlier stages at their fixed point, "
        "'given earlier': earlier directions known exactly)"
    )
    print(stages.table())
    return 0


def format_rows(rows: list[dict]) -> str:
    """The rows as a plain-text table: right-aligned columns, numbers to 3 significant digits,
    missing values (None, NaN) as "-"."""

    def cell(value) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[cell(row.get(key)) for key in columns] for row in rows]
    widths = [max(len(key), *(len(line[j]) for line in cells)) for j, key in enumerate(columns)]
    lines = [columns, *cells]
    return "\n".join("  ".join(v.rjust(w) for v, w in zip(line, widths)) for line in lines)
