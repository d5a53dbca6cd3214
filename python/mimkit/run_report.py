"""The ``mimkit run`` report as text: a header of settings and timings, then one table row per
method (the network and each spectral baseline)."""

from __future__ import annotations


def format_report(report: dict) -> str:
    """The report as a short text table."""
    p, s, t, sec = report["problem"], report["sizes"], report["training"], report["seconds"]
    covers = {True: "yes", False: "no", None: "unknown"}[p["theory_covers"]]
    loss = f"huber(delta={t['huber_delta']:g})" if t["loss"] == "huber" else t["loss"]
    if t["transform"]:
        loss += f" on {t['transform']}(y)"
    lines = [
        f"problem   {p['description']}   (r = {p['r']}, d = {p['d']}, noise = {p['noise']:g}, "
        f"theory covers: {covers})",
        f"sizes     n1 = {s['n1']} (alpha = {s['alpha']:g}), n2 = {s['n2']}, "
        f"n_test = {s['n_test']}, width m = {s['width']}, T1 = {s['steps']} steps, {s['dtype']}"
        + (" (phase 2 reuses D1: no sample splitting)" if t.get("phase2_data") == "reuse" else ""),
        f"data      {s['data_bytes'] / 2**30:.2f} GiB as arrays"
        + (", streamed: never stored, rows regenerated on every pass" if s["streamed"] else ""),
        f"training  loss {loss}, {t['activation']}, lr = {t['lr']:g}, "
        f"weight decay = {t['weight_decay']:g}, ridge = {t['ridge']:.2g} (GCV)",
        f"time      {'labels' if s['streamed'] else 'sampling'} {sec['sampling']:.2f} s, "
        f"phase 1 {sec['phase1']:.2f} s, phase 2 {sec['phase2']:.2f} s, "
        + (f"refine {sec['refine']:.2f} s, " if "refine" in sec else "")
        + (f"baselines {sec['baselines']:.2f} s, " if "baselines" in sec else "")
        + f"total {sec['total']:.1f} s; "
        f"peak memory {report['peak_memory_bytes'] / 2**30:.2f} GiB",
        "",
        f"{'':36}{'distance':>9}{'theory':>8}{'max angle':>11}{'test MSE/Var':>14}"
        "   coverage per direction",
    ]
    rows = [("network (layer-wise)", report["network"])]
    refined = report.get("refined")
    if refined is not None:
        rows.append((f"network + refine ({t['refine']})", refined))
    rows += [(b["method"], b) for b in report.get("spectral", [])]
    amp = report.get("amp")
    if amp is not None and "skipped" not in amp:
        rows.append((amp["method"], amp))
    for name, r in rows:
        cov = " ".join(f"{c:.2f}" for c in r["coverage"]) if "coverage" in r else "-"
        theory = r.get("theory_distance")
        theory = "-" if theory is None else f"{theory:.3f}"
        lines.append(
            f"{name:36}{r['subspace_distance']:9.3f}{theory:>8}{r['principal_angles_deg'][-1]:10.1f}"
            f"\N{DEGREE SIGN}{r['test_error']:14.3f}   {cov}"
        )
    if refined is not None:
        lines.append(
            f"(refine: all weights trained jointly from the layer-wise network, "
            f"{refined['iterations']} iterations, stop: {refined['stop_reason']}, best at "
            f"{refined['best_iteration']})"
        )
    if s["streamed"]:
        lines.append(
            "(spectral baselines and AMP skipped with --stream: each needs ~100 passes over "
            "the data)"
        )
    if amp is not None and "skipped" in amp:
        lines.append(f"(AMP skipped: {amp['skipped']})")
    elif amp is not None and amp.get("informative") is False:
        lines.append(
            f"(AMP: alpha = {s['alpha']:g} is below its weak-recovery threshold "
            f"{amp['alpha_c']:.3g}: its directions are at chance level)"
        )
    elif amp is not None and not amp["converged"]:
        lines.append(f"(AMP did not converge to tolerance in {amp['iterations']} iterations)")
    stages = report.get("learning_stages")
    if stages:
        lines.append(reach_line(stages))
    if "interrupted" in report:
        lines.append(f"(interrupted: {report['interrupted']})")
    lines.append(
        "(theory: predicted distance as n, d -> inf at this alpha; for the network, that of its "
        "converged phase-1 matrix, i.e. large T1)"
    )
    return "\n".join(lines)


def reach_line(stages: list[dict]) -> str:
    """One line: the link's learning order and which stage the paper's one-stage network
    reaches (a first stage that is easy; first-order and later stages need
    ``LayerwiseRegressor(stages="auto")``)."""

    def threshold(value) -> str:
        return "inf" if value is None else f"{value:.3g}"

    order = "; ".join(
        f"{s['stage']} {s['kind']} {s['directions']} (alpha_c {threshold(s['alpha_c'])})"
        for s in stages
    )
    first = stages[0]
    if first["kind"] == "hard":
        reach = "nothing is learnable at n ~ d"
    elif first["kind"] == "trivial":
        reach = (
            "stage 1 is first-order, which the one-stage network's symmetric init cancels; "
            "LayerwiseRegressor(stages='auto') learns the stages in order"
        )
    elif len(stages) == 1:
        reach = "the one-stage network reaches all of it"
    else:
        reach = (
            f"the one-stage network reaches stage 1 ({first['directions']}); later stages "
            "need LayerwiseRegressor(stages='auto')"
        )
    return f"(learning order: {order}: {reach})"
