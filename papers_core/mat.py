"""Multi-strength adversarial training, MAT (Song et al., "A multi-strength adversarial training method
to mitigate adversarial attacks"): FGSM examples at many strengths from one gradient, mixed MAT's
training set (Eq. 2), parallel MAT with its voting unit (Eqs. 3-4), and the random-walk strength
selection (Sec. 4.3)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ._validate import as_generator, check_choice, check_images, check_labels, check_model, check_range
from .attacks.base import input_gradient, num_classes
from .progress import progress as progress_bar
from .train import reset_parameters

__all__ = ["VOTING", "FGSMDirections", "accuracy_under_attack", "correct_under_attack", "mssim_by_strength", "mat_training_set", "ParallelMAT",
           "train_voting_unit", "StrengthSelection", "random_walk_selection", "PenaltyChoice",
           "choose_penalty"]


class FGSMDirections:
    """FGSM examples of ``x`` at any strength from one gradient: ``x + eps * sign(grad_x J(x, y))``,
    clipped to [0, 1], with the gradient taken on a *crafting* model (Sec. 5.1 of the MAT paper).

    One FGSM step starts from the clean image, so every strength shares the gradient sign; it is stored
    as int8 and the images are made on demand with :meth:`at`, which keeps many strengths of a large
    dataset cheap in memory. ``unit`` is the unit of the strengths: 1 for the [0, 1] scale (MNIST's
    eps in [0, 0.3]), 255 for 8-bit units (CIFAR's eps in [0, 5]).
    """

    def __init__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, unit: float = 1.0,
                 batch_size: int = 512):
        check_images(x)
        check_model(model)
        check_range(unit, "unit", lo=0, lo_open=True)
        check_range(batch_size, "batch_size", lo=1, integer=True)
        self.y = check_labels(y, x.shape[0], num_classes(model, x[:1])).to(x.device)
        self.x, self.unit = x.detach(), float(unit)
        signs = []
        for i in range(0, len(x), batch_size):
            _, grad = input_gradient(model, self.x[i:i + batch_size], self.y[i:i + batch_size])
            signs.append(grad.sign().to(torch.int8))
        self.sign = torch.cat(signs)

    def __len__(self) -> int:
        return len(self.x)

    def at(self, eps: float, index=None) -> torch.Tensor:
        """The FGSM images at strength ``eps`` (in ``unit``); ``eps = 0`` gives the clean images."""
        check_range(eps, "eps", lo=0, hi=self.unit)
        x, s = (self.x, self.sign) if index is None else (self.x[index], self.sign[index])
        if eps == 0:
            return x.clone()
        return (x + (eps / self.unit) * s.to(x.dtype)).clamp(0.0, 1.0)


def correct_under_attack(model: nn.Module, directions: FGSMDirections, strengths, batch_size: int = 1024
                         ) -> np.ndarray:
    """Whether ``model`` classifies each FGSM example of ``directions`` correctly at each strength: a
    boolean (S, N) array, one row per strength (per-image results, for claims decided over images)."""
    model.eval()
    rows = []
    with torch.no_grad():
        for eps in progress_bar(strengths, desc="accuracy by strength"):
            row = [(model(directions.at(float(eps), slice(i, i + batch_size))).argmax(1)
                    == directions.y[i:i + batch_size]).cpu() for i in range(0, len(directions), batch_size)]
            rows.append(torch.cat(row).numpy())
    return np.stack(rows)


def accuracy_under_attack(model: nn.Module, directions: FGSMDirections, strengths, batch_size: int = 1024
                          ) -> np.ndarray:
    """Top-1 accuracy (%) of ``model`` on the FGSM examples of ``directions`` at each strength."""
    return 100.0 * correct_under_attack(model, directions, strengths, batch_size).sum(1) / len(directions)


def mssim_by_strength(directions: FGSMDirections, strengths, max_images: int = 2000) -> np.ndarray:
    """Mean SSIM between the clean images and their FGSM examples at each strength, on the first
    ``max_images`` images: the MAT paper's upper bound of strength (Sec. 5.1) is where it gets too low."""
    from .metrics import ssim

    idx = slice(0, max_images)
    clean = directions.x[idx]
    return np.asarray([float(ssim(clean, directions.at(float(e), idx)).mean()) for e in strengths])


def mat_training_set(x: torch.Tensor, y: torch.Tensor, adversarial: list[torch.Tensor], *,
                     reduced: bool = False, generator=0) -> tuple[torch.Tensor, torch.Tensor]:
    """The training set of mixed MAT (Eq. 2): the originals plus S adversarial sets of the same images.

    ``reduced=False`` (full size): all ``N`` originals and all ``N`` examples of each strength,
    ``(S + 1) N`` samples. ``reduced=True``: the same mixture packed into the original size, ``N``
    samples; a seeded permutation splits the images into S + 1 disjoint parts of ``N / (S + 1)``
    (25 % each for S = 3, as in Fig. 2), the first kept clean and part s taken at strength s.
    With one adversarial set this is a single-strength (and a parallel-MAT copy's, Eq. 3) training set:
    half originals, half adversarial.
    """
    check_images(x)
    y = check_labels(y, x.shape[0])
    if not adversarial:
        raise ValueError("pass at least one adversarial set (a list of tensors shaped like x).")
    for i, a in enumerate(adversarial):
        check_images(a, f"adversarial set {i}")
        if a.shape != x.shape:
            raise ValueError(f"adversarial set {i} has shape {tuple(a.shape)}, the originals {tuple(x.shape)}: "
                             "craft one example per original image.")
    sets = [x, *adversarial]
    if not reduced:
        return torch.cat(sets), y.repeat(len(sets))
    order = torch.randperm(len(x), generator=as_generator(generator)).to(x.device)
    parts = torch.tensor_split(order, len(sets))
    return torch.cat([s[p] for s, p in zip(sets, parts)]), torch.cat([y[p] for p in parts])


class ParallelMAT(nn.Module):
    """Parallel MAT (Eqs. 3 and 4): S networks, each trained on the originals plus one strength, and an
    upper-boundary decision unit that votes with coefficients ``a_k >= 0``, ``sum_k a_k = 1``.

    ``voting="per-copy"`` (Eq. 4 as the paper states it, the default): one coefficient a_k per copy, the
    softmax of S learned weights (the simplest network that learns a_k). ``voting="per-image"`` (our
    variant, labelled as such): a small network (one hidden layer of ``hidden`` units) reads the S
    copies' class probabilities and outputs a softmax over the copies, so the coefficients may differ
    per image. The output is the vote, ``sum_k a_k p_k``, returned as log-probabilities (softmax of the
    output gives the vote back), so the ensemble is a classifier like any other for the attacks and
    metrics. The copies stay as trained (in eval mode); only the voting unit trains
    (:func:`train_voting_unit`).
    """

    def __init__(self, copies: list[nn.Module], num_classes: int, hidden: int = 32, voting: str = "per-copy"):
        super().__init__()
        if len(copies) < 1:
            raise ValueError("parallel MAT needs at least one trained copy.")
        check_range(num_classes, "num_classes", lo=2, integer=True)
        self.voting = check_choice(voting, VOTING, "voting")
        self.copies = nn.ModuleList(copies)
        self.num_classes = int(num_classes)
        s = len(copies)
        if voting == "per-image":
            self.voter = nn.Sequential(nn.Linear(s * num_classes, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, s))
        else:
            self.voter = _CopyWeights(s)

    def copy_probs(self, x: torch.Tensor) -> torch.Tensor:
        """(N, S, D) class probabilities of the copies."""
        return torch.stack([F.softmax(c(x), dim=1) for c in self.copies], dim=1)

    def vote(self, probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Coefficients (N, S), summing to 1, and the voted probabilities (N, D) from the copies' (N, S, D)."""
        a = F.softmax(self.voter(probs.flatten(1)), dim=1)
        return a, (a[:, :, None] * probs).sum(1)

    def coefficients(self, x: torch.Tensor) -> torch.Tensor:
        return self.vote(self.copy_probs(x))[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log(self.vote(self.copy_probs(x))[1].clamp_min(1e-12))

    def train(self, mode: bool = True):  # the copies stay in eval mode (batch norm statistics frozen)
        super().train(mode)
        self.copies.eval()
        return self


#: Parallel MAT's voting: one coefficient per copy (Eq. 4) or per image (our variant).
VOTING = ("per-copy", "per-image")


class _CopyWeights(nn.Module):
    """Eq. 4's coefficients: S learned logits, the same for every image (softmax gives a_k)."""

    def __init__(self, s: int):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(s))

    def reset_parameters(self) -> None:
        nn.init.zeros_(self.logits)

    def forward(self, probs_flat: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(probs_flat.shape[0], -1)


def train_voting_unit(pmat: ParallelMAT, x: torch.Tensor, y: torch.Tensor, *, epochs: int = 100,
                      batch_size: int = 256, lr: float = 1e-2, seed: int = 0) -> ParallelMAT:
    """Learn the voting coefficients of ``pmat`` on (x, y) (validation images, clean and adversarial:
    the copies saw the training images) by minimising the negative log-likelihood of the vote. The
    copies' outputs are computed once; the voter is re-initialised from ``seed``."""
    check_images(x)
    y = check_labels(y, x.shape[0], pmat.num_classes).to(x.device)
    check_range(epochs, "epochs", lo=1, integer=True)
    pmat.eval()
    with torch.no_grad():
        probs = torch.cat([pmat.copy_probs(x[i:i + 1024]) for i in range(0, len(x), 1024)])
    g = as_generator(seed)
    reset_parameters(pmat.voter, seed)
    opt = torch.optim.Adam(pmat.voter.parameters(), lr=lr)
    for _ in progress_bar(range(epochs), desc="voting unit", unit="epoch"):
        order = torch.randperm(len(x), generator=g).to(x.device)
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            _, voted = pmat.vote(probs[idx])
            loss = F.nll_loss(torch.log(voted.clamp_min(1e-12)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return pmat.eval()


@dataclass
class StrengthSelection:
    """The outcome of :func:`random_walk_selection`.

    strengths:  the selected strengths, ascending
    index:      their rows in the accuracy matrix
    score:      G = H - penalty * S of the selection
    estimate:   H, the estimated accuracy (%) of the selection over the strength range
    transition: the walk's transition matrix P(A)
    visited:    every distinct set the walks visited, with its H and G (a pandas DataFrame)
    """

    strengths: list[float]
    index: list[int]
    score: float
    estimate: float
    transition: np.ndarray
    visited: "object"


def random_walk_selection(accuracy: np.ndarray, strengths, *, steps: int = 4, walks: int = 200,
                          penalty: float = 0.5, generator=0) -> StrengthSelection:
    """Select the adversarial strengths of MAT by a one-dimensional random walk (Sec. 4.3).

    ``accuracy`` is the matrix A: row i is the validation accuracy (%) across the test strengths of a
    model trained on the originals plus FGSM examples at candidate strength ``strengths[i]``. Our reading
    of the paper's three procedures:

    - *Initialisation*: ``A_M(i, j) = A(i, j) / sum_j A(i, j)``, each candidate's working zone with its
      level removed. The walk moves on the strength axis from candidate i to candidate i' != i with
      probability ``P(i, i')`` proportional to ``0.5 * ||A_M(i) - A_M(i')||_1``: strengths whose working
      zones differ most from the current one, and so complement it, are the likeliest next states.
    - *Simulation*: ``walks`` (t) walks of ``steps`` (l) steps, each from a uniformly drawn candidate.
      After every step the set V of strengths visited so far is scored by the multi-strength accuracy
      estimate ``H(V) = mean_j max_{i in V} A(i, j)`` (in each strength range the set is as good as its
      best member, which is what parallel MAT's decision unit aims for), and
      ``G(V) = H(V) + a * |V|`` with ``a = -penalty`` (percentage points per strength) limits S.
    - *Selection*: the visited set with the highest G (ties: fewer strengths, then the first found).

    Deterministic for a seed; a larger ``penalty`` never selects more strengths.
    """
    import pandas as pd

    A = np.asarray(accuracy, dtype=np.float64)
    strengths = [float(s) for s in strengths]
    if A.ndim != 2 or A.shape[0] != len(strengths) or A.shape[0] < 1:
        raise ValueError(f"accuracy must be a matrix with one row per candidate strength ({len(strengths)}), "
                         f"got shape {A.shape}.")
    if not np.isfinite(A).all() or (A < 0).any() or (A.sum(1) <= 0).any():
        raise ValueError("accuracy must hold finite, non-negative accuracies with a positive sum in every row.")
    check_range(steps, "steps", lo=1, integer=True)
    check_range(walks, "walks", lo=1, integer=True)
    check_range(penalty, "penalty", lo=0)
    m = A.shape[0]
    a_m = A / A.sum(1, keepdims=True)
    dist = 0.5 * np.abs(a_m[:, None, :] - a_m[None, :, :]).sum(2) + 1e-12
    np.fill_diagonal(dist, 0.0)
    transition = dist / dist.sum(1, keepdims=True) if m > 1 else np.ones((1, 1))
    g = as_generator(generator)
    cdf = torch.from_numpy(np.cumsum(transition, 1))
    scores: dict[tuple[int, ...], tuple[float, float]] = {}
    for _ in progress_bar(range(int(walks)), desc="random walks"):
        state = int(torch.randint(m, (1,), generator=g))
        visited = {state}
        for step in range(int(steps) + 1):
            key = tuple(sorted(visited))
            if key not in scores:
                h = float(A[list(key)].max(0).mean())
                scores[key] = (h, h - penalty * len(key))
            if step == int(steps) or m == 1:
                break
            u = float(torch.rand(1, generator=g, dtype=torch.float64))
            state = min(int(torch.searchsorted(cdf[state], torch.tensor([u], dtype=torch.float64))), m - 1)
            visited.add(state)
    best = max(scores, key=lambda k: (round(scores[k][1], 12), -len(k)))
    table = pd.DataFrame([{"strengths": tuple(strengths[i] for i in k), "S": len(k), "H": h, "G": s}
                          for k, (h, s) in scores.items()]).sort_values("G", ascending=False, ignore_index=True)
    return StrengthSelection([strengths[i] for i in best], list(best), scores[best][1], scores[best][0],
                             transition, table)


@dataclass
class PenaltyChoice:
    """The outcome of :func:`choose_penalty`.

    penalty:   the chosen penalty (percentage points per strength; the paper's a is its negative)
    selection: the random walk's selection at that penalty
    table:     one row per penalty tried: the strengths it selects and their held-out score
    """

    penalty: float
    selection: StrengthSelection
    table: "object"


def choose_penalty(accuracy: np.ndarray, strengths, score, penalties=(0.0, 0.1, 0.25, 0.5, 1.0, 2.0), *,
                   steps: int = 4, walks: int = 200, generator=0) -> PenaltyChoice:
    """Choose the random walk's penalty on held-out data (Sec. 4.3 gives G = H + a S but no value of a).

    For each penalty the walk selects its strengths (:func:`random_walk_selection`, the same seed for
    all); ``score(strengths)`` measures that selection on data the accuracy matrix did not see (e.g.
    parallel MAT's mean accuracy over the strength range on a second validation split) and the penalty
    whose selection scores highest is chosen. Penalties that select the same strengths share one score
    (computed once); among equal scores the larger penalty (fewer strengths) wins.
    """
    import pandas as pd

    penalties = sorted(float(p) for p in penalties)
    if not penalties:
        raise ValueError("pass at least one penalty to try.")
    for p in penalties:
        check_range(p, "penalty", lo=0)
    rows, scored = [], {}
    for p in penalties:
        sel = random_walk_selection(accuracy, strengths, steps=steps, walks=walks, penalty=p, generator=generator)
        key = tuple(sel.index)
        if key not in scored:
            scored[key] = float(score(list(sel.strengths)))
        rows.append({"penalty": p, "strengths": tuple(sel.strengths), "S": len(key),
                     "H (walk's estimate, %)": sel.estimate, "held-out score (%)": scored[key], "_sel": sel})
    best = max(range(len(rows)), key=lambda i: (round(rows[i]["held-out score (%)"], 9), rows[i]["penalty"]))
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "_sel"} for r in rows])
    table["chosen"] = [i == best for i in range(len(rows))]
    return PenaltyChoice(rows[best]["penalty"], rows[best]["_sel"], table)
