"""Expectation over Transformation, EOT (Athalye et al. 2018), as the RP-FGSM paper's Eq. 12 states
it, with Sec. V-B's transformations and settings."""
from __future__ import annotations


import torch
import torch.nn.functional as F

from .._validate import check_range
from ..rng import ImageStreams, image_streams
from .base import AUTO, target_mode
from .ensemble import check_ensemble_input, ensemble_labels
from .sign import paper_iterations, sign_gradient_attack

__all__ = ["EOT_TRANSFORMS", "eot", "eot_draw", "eot_transform"]


#: EOT's 2D transformations (Sec. V-B), each drawn with equal probability at every iteration.
EOT_TRANSFORMS = ("scale", "translate", "rotate", "lighten", "darken", "noise")
_GEOMETRIC = 3          # the first three are resamplings, the rest change intensities
_NOISE_STD = 5.0        # grey levels: variance 25


def eot_draw(streams: ImageStreams, iterations: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image's transformation at each of ``iterations`` iterations, drawn from its own stream
    (:mod:`papers_core.rng`) in Sec. V-B's intervals: scaling by 0.8-1.2, translation by -0.2 to 0.2
    times the width (x and y drawn apart), rotation by -60 to 60 degrees, lightening or darkening by
    0-13 grey levels, Gaussian noise of variance 25 grey levels squared. Returns (kind, params): an
    (n, iterations) index into :data:`EOT_TRANSFORMS` and the (n, iterations, 2) parameters
    :func:`eot_transform` takes."""
    check_range(iterations, "iterations", lo=1, integer=True)
    kind = streams.integers("kind", 0, len(EOT_TRANSFORMS), int(iterations))
    u = streams.uniform("params", int(iterations), 2, dtype=torch.float64)
    lo_hi = torch.tensor([[0.8, 0.4], [-0.2, 0.4], [-60.0, 120.0], [0.0, 13.0], [0.0, 13.0], [_NOISE_STD, 0.0]],
                         dtype=torch.float64, device=u.device)[kind]          # (n, iterations, 2): offset, width
    params = lo_hi[..., :1] + lo_hi[..., 1:] * u
    params[..., 1] = torch.where(kind == 1, params[..., 1], torch.zeros_like(params[..., 1]))  # y: translation only
    return kind, params


def _per_image(kind, params, n: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(kind, str):
        if kind not in EOT_TRANSFORMS:
            raise ValueError(f"unknown EOT transformation {kind!r}; choose one of {', '.join(EOT_TRANSFORMS)}.")
        kind = torch.full((n,), EOT_TRANSFORMS.index(kind), dtype=torch.long)
    kind = torch.as_tensor(kind, dtype=torch.long, device=device)
    if kind.shape != (n,) or int(kind.min()) < 0 or int(kind.max()) >= len(EOT_TRANSFORMS):
        raise ValueError(f"kind must be a transformation's name or {n} indices into EOT_TRANSFORMS, got shape "
                         f"{tuple(kind.shape)}.")
    params = torch.as_tensor(params, dtype=torch.float64, device=device)
    if params.dim() == 1:
        params = torch.nn.functional.pad(params, (0, 2 - params.shape[0])).expand(n, 2)
    if params.shape != (n, 2):
        raise ValueError(f"params must be one transformation's parameters or an (n, 2) tensor, got shape "
                         f"{tuple(params.shape)}.")
    return kind, params


def eot_transform(x: torch.Tensor, kind, params, noise: torch.Tensor | None = None) -> torch.Tensor:
    """Apply EOT transformations, differentiably, image i getting ``kind[i]`` with ``params[i]`` (or one
    ``kind`` name and one parameter tuple for every image): geometric ones resample bilinearly about the
    image centre with zero padding (all the batch's in one ``grid_sample``); intensity ones add grey
    levels and clip to [0, 1]; "noise" adds ``params[i, 0]`` grey levels times ``noise[i]``, a standard
    normal image (required where a noise transformation is drawn)."""
    n = x.shape[0]
    kind, params = _per_image(kind, params, n, x.device)
    p0, p1 = params[:, 0], params[:, 1]
    s = torch.where(kind == 0, 1.0 / p0.clamp(min=1e-12), torch.ones_like(p0))
    a = torch.where(kind == 2, torch.deg2rad(p0), torch.zeros_like(p0))
    tx = torch.where(kind == 1, -2.0 * p0, torch.zeros_like(p0))   # fractions of the width; coordinates span 2
    ty = torch.where(kind == 1, -2.0 * p1, torch.zeros_like(p1))
    theta = torch.stack([torch.stack([s * torch.cos(a), -s * torch.sin(a), tx], 1),
                         torch.stack([s * torch.sin(a), s * torch.cos(a), ty], 1)], 1)      # (n, 2, 3)
    sign = torch.where(kind == 3, 1.0, torch.where(kind == 4, -1.0, 0.0)).to(torch.float64)
    shift = (sign * p0 / 255.0).to(x.dtype).view(n, 1, 1, 1)
    out = x + shift
    is_noise = kind == 5
    if is_noise.any():
        if noise is None or noise.shape != x.shape:
            raise ValueError("a 'noise' transformation needs noise=, a standard normal tensor of the images' shape.")
        out = out + noise.to(x) * torch.where(is_noise, p0 / 255.0, torch.zeros_like(p0)).to(x.dtype).view(n, 1, 1, 1)
    out = out.clamp(0.0, 1.0)
    geo = (kind < _GEOMETRIC).nonzero().squeeze(1)
    if len(geo):
        xg = x[geo]
        grid = F.affine_grid(theta[geo].to(x.dtype), list(xg.shape), align_corners=False)
        moved = F.grid_sample(xg, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        out = out.index_put((geo,), moved)
    return out


def eot(models, x: torch.Tensor, labels=None, *, targets=AUTO, step: float = 1.0, eps: float = 16.0,
        iterations: int | None = None, lam: float = 0.5, seed: int = 0, index=None, quantize: str = "step"):
    """Expectation over Transformation (Athalye et al. 2018) as Sec. IV-A's Eq. 12 states it: at each
    iteration one transformation ``phi`` of :data:`EOT_TRANSFORMS` is drawn for each image
    (:func:`eot_draw`, from the image's own stream of ``seed``; ``index``: the images' positions in the
    whole set, :mod:`papers_core.rng`) and the image steps against the sign of the gradient of

        J(phi(x_n), y_t) + lam * || Lab(phi(x_n)) - Lab(phi(x)) ||_2

    (the second ``phi(x_n)`` of Eq. 12 read as ``phi(x)``, the transformed original: otherwise the
    term is zero), then is clipped to the ``eps`` ball and rounded to 8 bits. Targeted, towards a class
    drawn uniformly from every class but the prediction (or ``targets``); with several classifiers
    the losses are summed. ``iterations`` defaults to ``paper_iterations(eps)``; ``lam`` 0.5 (Sec. V-B);
    ``quantize`` as :func:`~papers_core.attacks.sign.sign_gradient_attack` (``"step"``: every step).
    """
    from ..metrics import rgb_to_lab

    if labels is not None:
        raise ValueError("eot takes no labels: it is targeted, towards targets= or a class drawn from every "
                         "class but the prediction. Leave labels out.")
    models, num_classes = check_ensemble_input(models, x, step, eps, iterations)
    target_mode(targets, "EOT", untargeted=False)
    check_range(lam, "lam", lo=0)
    if x.shape[1] != 3 and lam > 0:
        raise ValueError(f"EOT's Lab term needs RGB images (3 channels), got {x.shape[1]}; pass lam=0.")
    streams = image_streams(x, seed, index)
    per_model, target, _ = ensemble_labels(models, x, targets, num_classes, seed=seed, index=index)
    n_iter = int(iterations) if iterations is not None else paper_iterations(eps)
    kinds, params = eot_draw(streams, n_iter)
    noisy = kinds == EOT_TRANSFORMS.index("noise")
    x0 = x.detach()

    def grad_fn(n, x_adv):
        noise = None
        if noisy[:, n].any():       # the same draw for the clean and the adversarial image
            rows = noisy[:, n].nonzero().squeeze(1)
            noise = torch.zeros_like(x0).index_put((rows,), streams.subset(rows).normal(("noise", n), *x0.shape[1:],
                                                                                         dtype=x0.dtype))
        xa = x_adv.detach().requires_grad_(True)
        with torch.enable_grad():
            z = eot_transform(xa, kinds[:, n], params[:, n], noise)
            loss = sum(F.cross_entropy(m(z), y, reduction="sum") for m, y in zip(models, per_model))
            if lam > 0:
                ref = rgb_to_lab(eot_transform(x0, kinds[:, n], params[:, n], noise))
                dist = ((rgb_to_lab(z) - ref).flatten(1).pow(2).sum(1) + 1e-12).sqrt()
                loss = loss + lam * dist.sum()
            (grad,) = torch.autograd.grad(loss, xa)
        return grad

    return sign_gradient_attack(models[0], x, per_model[0], targeted=True, step=step, iterations=n_iter,
                                eps=eps, quantize=quantize, target=target, gradient=grad_fn)
