"""Time papers_core's attacks against torchattacks, ART and foolbox, and check that they agree.

    .venv/bin/python benchmarks/attacks.py                 # run everything, write the JSON and the page
    .venv/bin/python benchmarks/attacks.py --quick         # LeNet-5 and ResNet-18 at batch 32 only
    .venv/bin/python benchmarks/attacks.py --render-only   # rewrite book/performance.md from the JSON

(``make benchmark`` runs the first.) The peers are test-only dependencies: ``make env`` installs them.

Protocol, in one process on one machine:

* Models: LeNet-5 on 1x28x28 and ResNet-18 on 3x32x32 with 10 classes (batch 1, 32, 256), ResNet-50 on
  3x224x224 with 365 classes as for Places365 (batch 4), from a fixed random initialisation, in eval mode, parameters frozen (no library computes weight
  gradients). Inputs: uniform random images from a fixed seed; labels: the model's predictions.
  Every library gets the same model object and the same tensors.
* Settings shared by every library: eps 8/255, step 2/255, 10 iterations (BIM, PGD, DI-FGSM; PGD with
  its random start); C&W-L2 with c = 1, Adam lr 0.01, 100 steps, one binary-search step, no early
  abort (torchattacks' C&W aborts when its loss rises: its time is scaled to 100 steps by its forward
  count); DeepFool with 10 candidate classes, overshoot 0.02, at most 50 steps; JSMA theta 1, gamma 0.1,
  target (label + 1) mod classes; SparseFool lambda 3, 20 steps; DI-FGSM p 0.5.
* Time: the best of up to 5 rounds; each round calls the floor and every library once, in turn, so
  a noisy machine slows all alike (rounds stop after 8 s in all; a call over 3 s is not repeated).
  A peer that loops over images one at a time is timed on the first 8 images of a larger batch and
  reported per image (marked). Images per second = batch / seconds.
* Floor: every model pass papers_core's attack made (recorded by hooks in an untimed run: batch size,
  gradient on or off, number of input-gradient passes) replayed bare on random tensors, timed the
  same way. Ratio = time / floor. The floor is the cost of the model calls alone; it includes the
  forward pass papers_core makes to report the result's probabilities.
* Agreement (FGSM, BIM, PGD without random start): the largest absolute difference between papers_core's
  adversarial images and each peer's.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from papers_core import attacks as pc  # noqa: E402
from papers_core.attacks.base import num_classes  # noqa: E402
from papers_core.models import LeNet5  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
PAGE = ROOT / "book" / "performance.md"
EPS, STEP, ITERS = 8.0, 2.0, 10
CW_STEPS = 100
PER_IMAGE_SUBSET = 8
ATTACKS = ("FGSM", "BIM", "PGD", "DI-FGSM", "C&W-L2", "DeepFool", "JSMA", "SparseFool")
LIBRARIES = ("papers_core", "torchattacks", "ART", "foolbox")
FGSM_FAMILY = ("FGSM", "BIM", "PGD", "DI-FGSM")


# --------------------------------------------------------------------------------------------- models
def build_models(quick: bool):
    """(name, model, input shape, batch sizes); fixed random initialisations, eval mode, frozen."""
    import torchvision

    def frozen(m):
        m.eval()
        for p in m.parameters():
            p.requires_grad_(False)
        return m

    torch.manual_seed(0)
    cases = [("LeNet-5", frozen(LeNet5()), (1, 28, 28), [32] if quick else [1, 32, 256]),
             ("ResNet-18", frozen(torchvision.models.resnet18(num_classes=10)), (3, 32, 32),
              [32] if quick else [1, 32, 256])]
    if not quick:
        cases.append(("ResNet-50", frozen(torchvision.models.resnet50(num_classes=365)), (3, 224, 224), [4]))
    return cases


#: What is not run, and why (shown on the page).
SKIPPED = {
    ("ResNet-50", "C&W-L2", None): "100 steps for four libraries (ART's line search makes several passes a "
                                   "step) take over an hour on 2 CPU cores; run it on a GPU",
    ("ResNet-50", "JSMA", None): "gamma 0.1 of 150,528 features allows 7,526 iterations; hours on 2 CPU cores",
    ("ResNet-50", "DeepFool", "torchattacks"): "computes the gradient of all 365 classes at every step, one "
                                               "image at a time (365 backward passes a step)",
    ("ResNet-50", "SparseFool", "torchattacks"): "runs torchattacks' DeepFool inside (all 365 class gradients "
                                                 "a step, one image at a time)",
}


def skipped(model: str, attack: str, lib: str | None) -> str | None:
    return SKIPPED.get((model, attack, None)) or SKIPPED.get((model, attack, lib))


# -------------------------------------------------------------------------------------------- timing
def _sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _once(fn) -> float:
    _sync()
    t0 = time.perf_counter()
    fn()
    _sync()
    return time.perf_counter() - t0


def interleaved(entries, model, rounds: int = 5, budget: float = 8.0, slow: float = 3.0):
    """Best time of each (name, n, fn) over up to ``rounds`` rounds that call every entry once, in
    turn, so that a noisy machine slows every library alike; stops after ``budget`` seconds. An entry
    whose first call took over ``slow`` seconds is not repeated. Also each entry's forward passes in
    its first call."""
    best, forwards, spent = {}, {}, 0.0
    for r in range(rounds):
        for name, _, fn in entries:
            if r and best[name] > slow:
                continue
            with warnings.catch_warnings(), ForwardCounter(model) as fc:
                warnings.simplefilter("ignore")
                dt = _once(fn)
            spent += dt
            best[name] = min(best.get(name, math.inf), dt)
            forwards.setdefault(name, fc.n)
        if spent > budget:
            break
    return best, forwards


class PassRecorder:
    """Forward hooks that record each model call: (batch size, gradient enabled, backward passes)."""

    def __init__(self, model):
        self.model, self.calls, self.handle = model, [], None

    def __enter__(self):
        def hook(_module, inputs, output):
            rec = [inputs[0].shape[0], torch.is_grad_enabled() and output.requires_grad, 0]
            self.calls.append(rec)
            if rec[1]:
                output.register_hook(lambda g, rec=rec: rec.__setitem__(2, rec[2] + 1))
        self.handle = self.model.register_forward_hook(hook)
        return self

    def __exit__(self, *exc):
        self.handle.remove()

    def summary(self, batch: int) -> dict:
        fw = sum(n for n, _, _ in self.calls)
        bw = sum(n * b for n, _, b in self.calls)
        return {"forward_per_image": fw / batch, "backward_per_image": bw / batch, "calls": len(self.calls)}


def replay(model, shape, calls, device):
    """The recorded model passes, bare: forward (with or without gradient) and the input-gradient passes."""
    def run():
        for n, grad, nb in calls:
            x = torch.rand((n,) + tuple(shape), device=device)
            if grad and nb:
                x.requires_grad_(True)
                out = model(x)
                for b in range(nb):
                    torch.autograd.grad(out[:, b % out.shape[1]].sum(), x, retain_graph=b < nb - 1)
            else:
                with torch.no_grad():
                    model(x)
    return run


class ForwardCounter:
    """Counts forward calls (for scaling an early-stopping peer to equal iterations)."""

    def __init__(self, model):
        self.model, self.n = model, 0

    def __enter__(self):
        self.handle = self.model.register_forward_hook(lambda *a: setattr(self, "n", self.n + 1))
        return self

    def __exit__(self, *exc):
        self.handle.remove()


# ---------------------------------------------------------------------------------------- the attacks
def papers_core_runner(attack, model, x, y, t):
    if attack == "FGSM":
        return lambda: pc.fgsm(model, x, y, step=EPS, quantize="none").adv
    if attack == "BIM":
        return lambda: pc.bim(model, x, y, eps=EPS, step=STEP, iterations=ITERS).adv
    if attack == "PGD":
        return lambda: pc.pgd(model, x, y, eps=EPS, step=STEP, iterations=ITERS, seed=0).adv
    if attack == "PGD (no random start)":
        return lambda: pc.pgd(model, x, y, eps=EPS, step=STEP, iterations=ITERS, random_start=False).adv
    if attack == "DI-FGSM":
        return lambda: pc.di_fgsm([model], x, labels=y, step=STEP, eps=EPS, iterations=ITERS,
                                  seed=0, quantize="none").adv
    if attack == "C&W-L2":
        return lambda: pc.cw_l2(model, x, y, initial_const=1.0, binary_search_steps=1, iterations=CW_STEPS,
                                lr=0.01, abort_early=False).adv
    if attack == "DeepFool":
        return lambda: pc.deepfool(model, x, y, num_candidates=10, overshoot=0.02, iterations=50).adv
    if attack == "JSMA":
        return lambda: pc.jsma(model, x, targets=t, theta=1.0, gamma=0.1).adv
    if attack == "SparseFool":
        return lambda: pc.sparsefool(model, x, y, lambda_=3.0, iterations=20).adv
    raise KeyError(attack)


def torchattacks_runner(attack, model, x, y, t):
    import torchattacks as ta
    e, a = EPS / 255, STEP / 255
    if attack == "FGSM":
        atk = ta.FGSM(model, eps=e)
    elif attack == "BIM":
        atk = ta.BIM(model, eps=e, alpha=a, steps=ITERS)
    elif attack == "PGD":
        atk = ta.PGD(model, eps=e, alpha=a, steps=ITERS, random_start=True)
    elif attack == "PGD (no random start)":
        atk = ta.PGD(model, eps=e, alpha=a, steps=ITERS, random_start=False)
    elif attack == "DI-FGSM":
        atk = ta.DIFGSM(model, eps=e, alpha=a, steps=ITERS, decay=0.0, resize_rate=0.9, diversity_prob=0.5)
    elif attack == "C&W-L2":
        atk = ta.CW(model, c=1.0, kappa=0.0, steps=CW_STEPS, lr=0.01)
    elif attack == "DeepFool":
        atk = ta.DeepFool(model, steps=50, overshoot=0.02)
    elif attack == "JSMA":
        atk = ta.JSMA(model, theta=1.0, gamma=0.1)
        atk.set_mode_targeted_by_label(quiet=True)
        return lambda: atk(x, t)
    elif attack == "SparseFool":
        atk = ta.SparseFool(model, steps=20, lam=3, overshoot=0.02)
    else:
        return None
    return lambda: atk(x, y)


def art_runner(attack, model, x, y, t, classifier):
    from art.attacks import evasion as ev
    e, a, n = EPS / 255, STEP / 255, x.shape[0]
    xn, yn = x.cpu().numpy(), y.cpu().numpy()
    onehot_t = np.eye(classifier.nb_classes, dtype=np.float32)[t.cpu().numpy()]
    common = dict(batch_size=n)
    if attack == "FGSM":
        atk = ev.FastGradientMethod(classifier, norm=np.inf, eps=e, **common)
    elif attack == "BIM":
        atk = ev.BasicIterativeMethod(classifier, eps=e, eps_step=a, max_iter=ITERS, verbose=False, **common)
    elif attack in ("PGD", "PGD (no random start)"):
        atk = ev.ProjectedGradientDescent(classifier, norm=np.inf, eps=e, eps_step=a, max_iter=ITERS,
                                          num_random_init=1 if attack == "PGD" else 0, verbose=False, **common)
    elif attack == "C&W-L2":
        atk = ev.CarliniL2Method(classifier, confidence=0.0, learning_rate=0.01, binary_search_steps=1,
                                 max_iter=CW_STEPS, initial_const=1.0, verbose=False, **common)
    elif attack == "DeepFool":
        atk = ev.DeepFool(classifier, max_iter=50, epsilon=0.02, nb_grads=10, verbose=False, **common)
    elif attack == "JSMA":
        atk = ev.SaliencyMapMethod(classifier, theta=1.0, gamma=0.1, verbose=False, **common)
        return lambda: torch.from_numpy(atk.generate(xn, y=onehot_t))
    else:
        return None
    return lambda: torch.from_numpy(atk.generate(xn, y=yn))


def foolbox_runner(attack, model, x, y, t, fmodel):
    import foolbox as fb
    e, a = EPS / 255, STEP / 255
    if attack == "FGSM":
        atk, eps = fb.attacks.FGSM(random_start=False), e
    elif attack == "BIM":
        atk, eps = fb.attacks.LinfBasicIterativeAttack(abs_stepsize=a, steps=ITERS, random_start=False), e
    elif attack == "PGD":
        atk, eps = fb.attacks.LinfPGD(abs_stepsize=a, steps=ITERS, random_start=True), e
    elif attack == "PGD (no random start)":
        atk, eps = fb.attacks.LinfPGD(abs_stepsize=a, steps=ITERS, random_start=False), e
    elif attack == "C&W-L2":
        atk, eps = fb.attacks.L2CarliniWagnerAttack(binary_search_steps=1, steps=CW_STEPS, stepsize=0.01,
                                                    confidence=0, initial_const=1.0, abort_early=False), None
    elif attack == "DeepFool":
        atk, eps = fb.attacks.L2DeepFoolAttack(steps=50, candidates=10, overshoot=0.02), None
    else:
        return None
    return lambda: atk(fmodel, x, y, epsilons=eps)[1]


#: Peers whose implementation handles one image at a time (timed on a subset of a large batch).
PER_IMAGE = {("torchattacks", "DeepFool"), ("torchattacks", "JSMA"), ("torchattacks", "SparseFool")}


def runner(lib, attack, model, x, y, t, wrappers):
    if lib == "papers_core":
        return papers_core_runner(attack, model, x, y, t)
    if lib == "torchattacks":
        return torchattacks_runner(attack, model, x, y, t)
    if lib == "ART":
        return art_runner(attack, model, x, y, t, wrappers["ART"])
    if lib == "foolbox":
        return foolbox_runner(attack, model, x, y, t, wrappers["foolbox"])
    raise KeyError(lib)


def make_wrappers(model, shape, num_classes, device):
    from art.estimators.classification import PyTorchClassifier
    import foolbox as fb
    art = PyTorchClassifier(model=model, loss=nn.CrossEntropyLoss(), input_shape=tuple(shape),
                            nb_classes=num_classes, clip_values=(0.0, 1.0),
                            device_type="gpu" if device.type == "cuda" else "cpu")
    return {"ART": art, "foolbox": fb.PyTorchModel(model, bounds=(0.0, 1.0), device=device)}


# ------------------------------------------------------------------------------------------- machine
def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "cpu_kernels": torch.backends.cpu.get_cpu_capability(),
            "python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    for name in ("torchattacks", "art", "foolbox"):
        with contextlib.suppress(Exception):
            info[name] = __import__(name).__version__
    with contextlib.suppress(Exception):
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "papers_core", "benchmarks/attacks.py"],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()
        info["papers_core_commit"] = commit + ("-dirty" if dirty else "")
    if os.environ.get("PAPERS_CORE_COMMIT"):
        # a copy of the tree sent to another machine (a device machine), whose git history, if any, is
        # not this tree's: the commit it was copied from, given by whoever sent it
        info["papers_core_commit"] = os.environ["PAPERS_CORE_COMMIT"]
    # the code the timings measure, fingerprinted as the attack cache keys it: a test fails when it changes
    from papers_core.cache import ATTACK_CODE, code_fingerprint

    info["attack_code"] = code_fingerprint(ATTACK_CODE)
    return info


# ---------------------------------------------------------------------------------------------- run
def agree(name, model, x, y, t, libraries, wrappers, device) -> list[dict]:
    """papers_core's images against each peer's on the attacks defined identically."""
    out = []
    for attack in ("FGSM", "BIM", "PGD (no random start)"):
        ours = papers_core_runner(attack, model, x, y, t)()
        for lib in libraries[1:]:
            fn = runner(lib, attack, model, x, y, t, wrappers)
            if fn is None:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                diff = (fn().to(device).float() - ours).abs()
            off = diff > 1e-6
            out.append({"model": name, "batch": len(x), "attack": attack, "library": lib,
                        "max_abs_diff": float(diff.max()), "pixels_off": float(off.float().mean()),
                        "images_off": int(off.flatten(1).any(1).sum())})
    return out


def run_agreement(libraries, device) -> list[dict]:
    rows = []
    for name, model, shape, batches in build_models(False):
        model = model.to(device)
        num_classes = model(torch.zeros((1,) + shape, device=device)).shape[1]
        x = torch.rand((max(batches),) + shape, generator=torch.Generator().manual_seed(1)).to(device)
        with torch.no_grad():
            y = model(x).argmax(1)
        rows += agree(name, model, x, y, (y + 1) % num_classes, libraries,
                      make_wrappers(model, shape, num_classes, device), device)
    return rows


def run(quick: bool, attacks, libraries, device, save=None) -> dict:
    """Every model, batch and attack; ``save``, if given, gets the results so far after each model
    (marked ``complete: False``), so that a run cut short keeps what it measured."""
    rows, agreement = [], []
    info = machine()  # at the start: the commit whose code is measured
    result = lambda complete: {"machine": info, "device": str(device), "quick": quick, "attacks": list(attacks),  # noqa: E731
                               "complete": complete, "rows": rows, "agreement": agreement}
    for name, model, shape, batches in build_models(quick):
        model = model.to(device)
        n_classes = model(torch.zeros((1,) + shape, device=device)).shape[1]
        wrappers = make_wrappers(model, shape, n_classes, device)
        for batch in batches:
            g = torch.Generator().manual_seed(1)
            x = torch.rand((batch,) + shape, generator=g).to(device)
            with torch.no_grad():
                y = model(x).argmax(1)
            t = (y + 1) % n_classes
            if batch == max(batches):
                agreement += agree(name, model, x, y, t, libraries, wrappers, device)
            for attack in attacks:
                if skipped(name, attack, None):
                    continue
                fn = papers_core_runner(attack, model, x, y, t)
                # papers_core probes a model's class count once and caches it; prime the cache so that the
                # recorded passes are those of a repeated call, which is what the timed calls are
                num_classes(model, x)
                with PassRecorder(model) as rec:
                    fn()
                passes = rec.summary(batch)
                entries = [("floor", batch, replay(model, shape, rec.calls, device))]
                for lib in libraries:
                    if skipped(name, attack, lib):
                        continue
                    sub = PER_IMAGE_SUBSET if (lib, attack) in PER_IMAGE and batch > PER_IMAGE_SUBSET else batch
                    fn = runner(lib, attack, model, x[:sub], y[:sub], t[:sub], wrappers)
                    if fn is not None:
                        entries.append((lib, sub, fn))
                best, forwards = interleaved(entries, model)
                floor_s = best["floor"]
                for lib, sub, _ in entries[1:]:
                    row = {"model": name, "batch": batch, "attack": attack, "library": lib, "timed_on": sub,
                           "seconds": best[lib], "forwards": forwards[lib]}
                    seconds_full = best[lib] * batch / sub
                    if lib == "torchattacks" and attack == "C&W-L2" and forwards[lib] < CW_STEPS:
                        # its C&W returns when its loss rises: scale to CW_STEPS steps (one forward each)
                        seconds_full *= CW_STEPS / max(forwards[lib], 1)
                        row["scaled_to_steps"] = CW_STEPS
                    row.update({"images_per_s": batch / seconds_full, "ratio_to_floor": seconds_full / floor_s,
                                "floor_seconds": floor_s, **({"passes": passes} if lib == "papers_core" else {})})
                    rows.append(row)
                    print(f"{name:9s} b={batch:<3d} {attack:10s} {lib:12s} {row['images_per_s']:10.1f} img/s"
                          f"  x{row['ratio_to_floor']:.2f} floor" + (f"  (timed on {sub})" if sub < batch else ""),
                          flush=True)
        if save is not None:
            save(result(False))
    return result(True)


# ---------------------------------------------------------------------------------------------- page
def _fmt_rate(r: float) -> str:
    return f"{r:,.0f}" if r >= 100 else (f"{r:.1f}" if r >= 1 else f"{r:.3f}")


HEAVY = ("C&W-L2", "DeepFool", "JSMA", "SparseFool")

#: How the peers' versions differ from papers_core's where the names match but the algorithms do not.
DIFFERENCES = [
    "ART's JSMA (`SaliencyMapMethod`) changes the two features with the largest target-class gradient: no "
    "pair search and no other-class term, so it costs one input gradient a step and no O(D²) search; it "
    "is a cheaper, different rule from Papernot et al.'s, which papers_core and torchattacks implement "
    "(they agree image for image: `tests/test_peer_agreement.py`).",
    "ART's C&W-L2 takes gradient steps with a line search of up to 5 halvings and 5 doublings of the "
    "learning rate instead of Adam, so each step costs several forward passes.",
    "torchattacks' DeepFool and SparseFool compute the gradient of every class at every step, one image at "
    "a time; papers_core, ART and foolbox use the 10 best candidate classes.",
    "torchattacks' SparseFool restarts its linear solver from the clean image at every outer step (the "
    "authors' code continues from the current one, as papers_core does).",
]


AGREEMENT_NOTE = (
    "Every library takes the same first step to the bit (the FGSM rows). Over ten steps, the "
    "libraries differ only in how they clip to the eps box: papers_core and torchattacks' BIM clip the "
    "image to [x - eps, x + eps] directly; ART, foolbox and torchattacks' PGD clip the difference "
    "x_adv - x and add x back, which can land one float32 ulp away. That papers_core equals "
    "torchattacks' BIM exactly while differing from torchattacks' own PGD as much as from ART and "
    "foolbox shows that this convention is the whole difference. On LeNet-5 (and on the trained models "
    "of tests/test_peer_agreement.py, which check 1e-6) it changes nothing beyond 1e-6. On the randomly "
    "initialised ResNets, a 1-ulp change of an input can move a ReLU or max-pool input across its kink, "
    "which flips the sign of many gradient components at once; from then on the images drift apart by "
    "whole steps. The deeper and wider the network, the more often that happens (ResNet-50 at 224x224).")


def _targets(rows) -> list[str]:
    """Issue 7's targets, checked against these rows."""
    def peers(r):
        return [x for x in rows if x["model"] == r["model"] and x["batch"] == r["batch"]
                and x["attack"] == r["attack"] and x["library"] != "papers_core"]
    ours = [r for r in rows if r["library"] == "papers_core"]
    out = ["### Targets", "", "| Target | Met | Where not |", "|---|---|---|"]

    def line(name, cases, ok):
        misses = [c for c in cases if not ok(c)]
        where = "; ".join(f"{c['model']} b{c['batch']} {c['attack']} ({_why(c)})" for c in misses) or "–"
        out.append(f"| {name} | {len(cases) - len(misses)} of {len(cases)} | {where} |")

    def _why(c):
        if "_peer" in c:
            return f"×{c['_speed']:.3f} the speed of {c['_peer']}, the fastest peer"
        return f"×{c['ratio_to_floor']:.2f}"

    fam = [r for r in ours if r["attack"] in FGSM_FAMILY and r["batch"] >= 32]
    line("FGSM family within 1.10× of the floor at batch ≥ 32", fam, lambda r: r["ratio_to_floor"] <= 1.10)
    heavy = [r for r in ours if r["attack"] in HEAVY and r["batch"] == 256]
    line("C&W, DeepFool, JSMA, SparseFool within 1.3× of the floor at batch 256", heavy,
         lambda r: r["ratio_to_floor"] <= 1.3)
    def versus_fastest_peer(cases):
        out_ = []
        for r in cases:
            ps = peers(r)
            if ps:
                best = max(ps, key=lambda p: p["images_per_s"])
                out_.append({**r, "_peer": best["library"], "_speed": r["images_per_s"] / best["images_per_s"]})
        return out_

    line("… and at least 2× faster per image than the fastest peer at batch 256", versus_fastest_peer(heavy),
         lambda r: r["_speed"] >= 2.0)
    every = versus_fastest_peer(ours)
    line("No attack slower than any peer (any model, any batch)", every, lambda r: r["_speed"] >= 1.0)
    out += ["", "Timings vary by several per cent from run to run (measured on the shared 2-core CPU machine), so a",
            "ratio within about 5 % of a target is a tie.", ""]
    return out


def render(results: list[dict]) -> str:
    out = ["# Performance", "",
           "How fast `papers_core` runs the attacks it shares with torchattacks, ART and foolbox, and whether it",
           "produces the same images where the definitions are identical. Every number on this page was written",
           "by `benchmarks/attacks.py` (run it with `make benchmark`); the protocol is in that file's docstring.",
           "", "In short: the same models, inputs and settings for every library, in one process; images per",
           "second; and the ratio of the attack's time to its **floor**, the bare forward and backward passes",
           "papers_core's attack made, replayed on the same machine in the same run. The models are fixed random",
           "initialisations (the number of iterations DeepFool, JSMA and SparseFool take depends on the weights;",
           "the counts are listed). A dash means the library has no such attack.", ""]
    for res in results:
        m = res["machine"]
        out += [f"## {'GPU: ' + m['gpu'] if m.get('gpu') else 'CPU: ' + m['cpu']}", "",
                f"Machine: {m['cpu']}, {m['cores']} cores ({m['torch_threads']} torch threads)"
                + (f", GPU {m['gpu']}" if m.get("gpu") else ", no GPU") + f"; {m['platform']}.",
                f"Python {m['python']}, torch {m['torch']}, torchattacks {m.get('torchattacks', '?')}, "
                f"ART {m.get('art', '?')}, foolbox {m.get('foolbox', '?')}; papers_core at commit "
                f"`{m.get('papers_core_commit', '?')}`.", ""]
        rows = res["rows"]
        out += _targets(rows)
        keys = []
        for r in rows:
            k = (r["model"], r["batch"])
            if k not in keys:
                keys.append(k)
        for model, batch in keys:
            sel = [r for r in rows if r["model"] == model and r["batch"] == batch]
            out += [f"### {model}, batch {batch}", "",
                    "| Attack | papers_core | torchattacks | ART | foolbox | papers_core passes per image (fwd / input-grad) |",
                    "|---|---|---|---|---|---|"]
            for attack in dict.fromkeys(r["attack"] for r in sel):
                cells = []
                for lib in LIBRARIES:
                    r = next((r for r in sel if r["attack"] == attack and r["library"] == lib), None)
                    if r is None:
                        cells.append("–")
                        continue
                    mark = "†" if r["timed_on"] < r["batch"] else ""
                    mark += "‡" if r.get("scaled_to_steps") else ""
                    best = r["images_per_s"] >= max(x["images_per_s"] for x in sel if x["attack"] == attack)
                    text = f"{_fmt_rate(r['images_per_s'])} img/s (×{r['ratio_to_floor']:.2f}){mark}"
                    cells.append(f"**{text}**" if best else text)
                p = next(r for r in sel if r["attack"] == attack and r["library"] == "papers_core")["passes"]
                out.append(f"| {attack} | " + " | ".join(cells)
                           + f" | {p['forward_per_image']:.1f} / {p['backward_per_image']:.1f} |")
            out.append("")
        out += ["Bold: the fastest library for that attack. (×r): time over the floor. †: the library handles one",
                f"image at a time; timed on the first {PER_IMAGE_SUBSET} images and reported per image. ‡: the",
                f"library stopped early; its time is scaled to {CW_STEPS} steps by its forward-pass count.", ""]
        absent = [a for a in ATTACKS if a not in res.get("attacks", ATTACKS)]
        out += ["Not run" + (" (on every machine; the reasons as measured on the CPU)" if m.get("gpu") else "") + ":", ""]
        out += [f"- {mo}, {a}" + (f" ({lib})" if lib else "") + f": {why}." for (mo, a, lib), why in SKIPPED.items()]
        if absent:
            out += [f"- {', '.join(absent)}: not timed on this machine (the run was limited to "
                    f"`--attacks {' '.join(res['attacks'])}`" + (f"; {res['note']}" if res.get("note") else "") + ")."]
        if not res.get("complete", True):
            out += ["- The run was cut short: the models missing above were not reached."]
        out += [""]
        out += ["Where the libraries' algorithms differ:", ""] + [f"- {d}" for d in DIFFERENCES] + [""]
        if res["agreement"]:
            out += ["### Agreement", "",
                    "papers_core's adversarial images against each peer's where the definitions are identical, on",
                    "the largest batch of each model: the largest absolute difference, and how many pixels and",
                    "images differ by more than 1e-6 (8-bit step: 1/255 = 0.0039)"
                    + (f"; computed at commit `{res['agreement_commit']}`" if res.get("agreement_commit") else "")
                    + ".", "",
                    "| Model | Attack | Library | max abs difference | pixels > 1e-6 | images > 1e-6 |",
                    "|---|---|---|---|---|---|"]
            for a in res["agreement"]:
                out.append(f"| {a['model']} | {a['attack']} | {a['library']} | {a['max_abs_diff']:.2e} | "
                           f"{100 * a.get('pixels_off', 0):.3f} % | {a.get('images_off', '?')} of {a['batch']} |")
            out += ["", AGREEMENT_NOTE, ""]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="LeNet-5 and ResNet-18 at batch 32 only")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--attacks", nargs="+", default=list(ATTACKS), choices=ATTACKS)
    ap.add_argument("--libraries", nargs="+", default=list(LIBRARIES), choices=LIBRARIES)
    ap.add_argument("--note", help="why the run is limited (e.g. to some --attacks), shown on the page")
    ap.add_argument("--out", type=Path, help="JSON to write (default benchmarks/results/<cpu|gpu>.json)")
    ap.add_argument("--render-only", action="store_true", help="rewrite the page from benchmarks/results/*.json")
    ap.add_argument("--no-page", action="store_true", help="do not rewrite book/performance.md")
    ap.add_argument("--agreement-only", action="store_true",
                    help="recompute only the agreement checks into the stored full results")
    args = ap.parse_args(argv)
    if args.agreement_only:
        device = torch.device(args.device)
        out = args.out or RESULTS / f"{'gpu' if device.type == 'cuda' else 'cpu'}.json"
        res = json.loads(out.read_text())
        res["agreement"] = run_agreement(args.libraries, device)
        res["agreement_commit"] = machine().get("papers_core_commit")
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(res, indent=1))
        tmp.replace(out)
        print(f"updated the agreement checks in {out}")
    elif not args.render_only:
        if args.libraries[0] != "papers_core":
            ap.error("papers_core must come first: its passes define the floor.")
        device = torch.device(args.device)
        out = args.out or RESULTS / f"{'gpu' if device.type == 'cuda' else 'cpu'}{'-quick' if args.quick else ''}.json"
        out.parent.mkdir(parents=True, exist_ok=True)

        def save(res):  # whole files only: written beside, then renamed
            tmp = out.with_suffix(".tmp")
            tmp.write_text(json.dumps(res, indent=1))
            tmp.replace(out)

        save({**run(args.quick, args.attacks, args.libraries, device, save=save),
              **({"note": args.note} if args.note else {})})
        print(f"wrote {out}")
    if not args.no_page:
        files = sorted(p for p in RESULTS.glob("*.json") if "quick" not in p.name)
        if not files:
            print("no full results in benchmarks/results/ yet; run without --quick first", file=sys.stderr)
            return 1
        PAGE.write_text(render([json.loads(p.read_text()) for p in files]) + "\n")
        print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
