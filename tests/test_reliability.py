"""Bad input to every public function that takes images, labels or hyper-parameters gets a clear error
naming the problem and the fix; unknown names list the valid ones; inputs are never modified."""
import pytest
import torch

from papers_core import attacks as A
from papers_core import defenses as D
from papers_core import metrics as M
from papers_core.data import synth_scenes
from papers_core.runs import check_profile, pick_device
from papers_core.models import build_model, places365_model
from papers_core import mat as T
from papers_core.train import train_classifier

# every public entry point that takes a batch of images: name -> call(model, x, y)
IMAGE_FUNCTIONS = {
    "fgsm": lambda m, x, y: A.fgsm(m, x, y),
    "n_fgsm": lambda m, x, y: A.n_fgsm(m, x, y, iterations=2),
    "l_fgsm": lambda m, x, y: A.l_fgsm(m, x, iterations=2),
    "r_fgsm": lambda m, x, y: A.r_fgsm(m, x, iterations=2, seed=0),
    "p_fgsm": lambda m, x, y: A.p_fgsm(m, x, iterations=2, seed=0),
    "targeted_ifgsm": lambda m, x, y: A.targeted_ifgsm(m, x, targets=y, iterations=2),
    "fgsm_noise": lambda m, x, y: A.fgsm_noise(m, x, y),
    "add_noise": lambda m, x, y: A.add_noise(x, x, 1),
    "sign_of_gaussian": lambda m, x, y: A.sign_of_gaussian(x, seed=0),
    "color_variance_map": lambda m, x, y: A.color_variance_map(x),
    "color_variance_attack": lambda m, x, y: A.color_variance_attack(m, x, y, iterations=2),
    "predict_proba": lambda m, x, y: A.predict_proba(m, x),
    "mse": lambda m, x, y: M.mse(x, x),
    "psnr": lambda m, x, y: M.psnr(x, x),
    "ssim": lambda m, x, y: M.ssim(x, x),
    "brisque": lambda m, x, y: M.brisque(x),
    "rgb_to_lab": lambda m, x, y: M.rgb_to_lab(x),
    "train_classifier": lambda m, x, y: train_classifier(type(m)(30, width=4), x, y, epochs=1),
    "deepfool": lambda m, x, y: A.deepfool(m, x, y, iterations=2),
    "cw_l2": lambda m, x, y: A.cw_l2(m, x, y, binary_search_steps=1, iterations=2),
    "lbfgs_attack": lambda m, x, y: A.lbfgs_attack(m, x, targets=y, search_steps=1, iterations=2),
    # the attack takes correctly classified samples: label them with the model's own prediction
    "k_anonymity_attack": lambda m, x, y: A.k_anonymity_attack(m, x, A.predict_proba(m, x).argmax(1), K=1,
                                                               iterations=2),
    "ms_ssim": lambda m, x, y: M.ms_ssim(x, x),
    "cw_ssim": lambda m, x, y: M.cw_ssim(x, x),
    "FGSMDirections": lambda m, x, y: T.FGSMDirections(m, x, y).at(0.5),
    "mat_training_set": lambda m, x, y: T.mat_training_set(x, y, [x], reduced=True),
    "train_voting_unit": lambda m, x, y: T.train_voting_unit(T.ParallelMAT([m], 30), x, y, epochs=1),
    "requantize": lambda m, x, y: D.requantize(x, 3),
    "requantize (differentiable)": lambda m, x, y: D.requantize(x, 3, differentiable=True),
    "median_filter": lambda m, x, y: D.median_filter(x, 2),
    "jpeg": lambda m, x, y: D.jpeg(x, 50),
    "jpeg (differentiable)": lambda m, x, y: D.jpeg(x, 50, differentiable=True),
    "rp_fgsm": lambda m, x, y: A.rp_fgsm([m, m], x, iterations=3, seed=0),
    "e_fgsm": lambda m, x, y: A.e_fgsm([m, m], x, iterations=2, seed=0),
    "di_fgsm": lambda m, x, y: A.di_fgsm(m, x, iterations=2, seed=0),
    "bim": lambda m, x, y: A.bim(m, x, y, iterations=2),
    "pgd": lambda m, x, y: A.pgd(m, x, y, iterations=2, seed=0),
    "jsma": lambda m, x, y: A.jsma(m, x, targets=y, gamma=0.001),
    "sparsefool": lambda m, x, y: A.sparsefool(m, x, y, iterations=1),
}

# (how to spoil a good batch, what the error must say)
BAD_IMAGES = {
    "0..255 floats": (lambda x: x * 255, r"\[0, 1\].*divide by 255"),
    "normalised": (lambda x: x - 0.5, r"\[0, 1\].*normalised"),
    "uint8": (lambda x: (x * 255).to(torch.uint8), "uint8.*x.float\\(\\) / 255"),
    "int64": (lambda x: (x * 255).long(), "dtype torch.int64.*float"),
    "one image without batch axis": (lambda x: x[0], "4 dimensions.*unsqueeze"),
    "5-D": (lambda x: x[None], "4 dimensions"),
    "empty batch": (lambda x: x[:0], "empty batch"),
    "NaN": (lambda x: torch.where(x > 0.6, torch.nan, x), "NaN or inf"),
    "inf": (lambda x: torch.where(x > 0.6, torch.inf, x), "NaN or inf"),
    "numpy array": (lambda x: x.numpy(), "torch.Tensor"),
}


@pytest.mark.parametrize("bad", list(BAD_IMAGES))
@pytest.mark.parametrize("fn", list(IMAGE_FUNCTIONS))
def test_bad_images_are_refused_with_a_clear_message(model, batch, fn, bad):
    x, y = batch[0][:2], batch[1][:2]
    spoil, match = BAD_IMAGES[bad]
    with pytest.raises((ValueError, TypeError), match=match):
        IMAGE_FUNCTIONS[fn](model, spoil(x.clone()), y)


LABELLED = {k: IMAGE_FUNCTIONS[k] for k in ("fgsm", "n_fgsm", "targeted_ifgsm", "fgsm_noise",
                                            "color_variance_attack", "train_classifier", "deepfool",
                                            "cw_l2", "FGSMDirections", "train_voting_unit", "bim", "pgd",
                                            "jsma", "sparsefool")}
LABELLED["k_anonymity_attack"] = lambda m, x, y: A.k_anonymity_attack(m, x, y, K=1, iterations=2)
BAD_LABELS = {
    "out of range": (lambda y: y + 100, r"(labels|targets) must lie in \[0, 29\]"),
    "negative": (lambda y: y - 100, r"(labels|targets) must lie in \[0, 29\]"),
    "wrong length": (lambda y: y[:1], r"shape \(2,\) to match the batch"),
    "floats": (lambda y: y.float(), "integer class indices"),
    "one-hot": (lambda y: torch.nn.functional.one_hot(y, 30), r"shape \(2,\)"),
    "a list": (lambda y: y.tolist(), "torch.Tensor of class indices"),
}


@pytest.mark.parametrize("bad", list(BAD_LABELS))
@pytest.mark.parametrize("fn", list(LABELLED))
def test_bad_labels_are_refused_with_a_clear_message(model, batch, fn, bad):
    x, y = batch[0][:2], batch[1][:2]
    spoil, match = BAD_LABELS[bad]
    with pytest.raises((ValueError, TypeError), match=match):
        LABELLED[fn](model, x, spoil(y.clone()))


BAD_SETTINGS = [
    ("step 0", lambda m, x, y: A.fgsm(m, x, y, step=0), r"step \(8-bit units\) must be > 0"),
    ("step above 255", lambda m, x, y: A.n_fgsm(m, x, y, step=300), "step .* must be <= 255"),
    ("step NaN", lambda m, x, y: A.fgsm(m, x, y, step=float("nan")), "must be finite"),
    ("step as text", lambda m, x, y: A.fgsm(m, x, y, step="1"), "must be a number"),
    ("no iterations", lambda m, x, y: A.n_fgsm(m, x, y, iterations=0), "iterations must be >= 1"),
    ("fractional iterations", lambda m, x, y: A.l_fgsm(m, x, iterations=2.5), "iterations must be a whole number"),
    ("negative eps", lambda m, x, y: A.n_fgsm(m, x, y, eps=-1), r"eps \(8-bit units\) must be > 0"),
    ("threshold above 1", lambda m, x, y: A.n_fgsm(m, x, y, threshold=1.5), "threshold must be <= 1"),
    ("sigma above 1", lambda m, x, y: A.p_fgsm(m, x, sigma=1.5), "sigma"),
    ("iterations 0", lambda m, x, y: A.sign_of_gaussian(x, iterations=0), "iterations"),
    ("cv threshold 0", lambda m, x, y: A.color_variance_attack(m, x, y, threshold=0), "threshold"),
    ("cv alpha negative", lambda m, x, y: A.color_variance_attack(m, x, y, alpha=-1), "alpha must be >= 0"),
    ("cv lr 0", lambda m, x, y: A.color_variance_attack(m, x, y, lr=0), "lr must be > 0"),
    ("cv even window", lambda m, x, y: A.color_variance_map(x, window=4), "window must be odd"),
    ("cv map of wrong shape", lambda m, x, y: A.color_variance_attack(m, x, y, cv_map=torch.ones(1)), "cv_map"),
    ("epochs 0", lambda m, x, y: train_classifier(type(m)(30, width=4), x, y, epochs=0), "epochs must be >= 1"),
    ("seed as text", lambda m, x, y: A.r_fgsm(m, x, seed="7"), "seed must be a whole number"),
    ("a generator for a seed", lambda m, x, y: A.pgd(m, x, y, seed=torch.Generator()), "per-image streams: pass seed=<int>"),
    ("k above classes", lambda m, x, y: M.topk_accuracy(torch.rand(2, 3), y % 3, ks=(1, 5)), "exceeds the number"),
    ("images of different shapes", lambda m, x, y: M.psnr(x, x[:, :, :16]), "differ in shape"),
    ("SSIM on tiny images", lambda m, x, y: M.ssim(x[..., :8, :8], x[..., :8, :8]), "at least 11x11"),
    ("grey image for the map", lambda m, x, y: A.color_variance_map(x[:, :1]), "RGB"),
    ("model in training mode", lambda m, x, y: A.fgsm(m.train(), x, y), r"model.eval\(\)"),
    ("channels the model does not take", lambda m, x, y: A.fgsm(m, x[:, :1], y), r"expects \(N, 3, H, W\)"),
    ("channels a bare torch model does not take",
     lambda m, x, y: A.n_fgsm(torch.nn.Sequential(torch.nn.Conv2d(3, 30, 3), torch.nn.AdaptiveAvgPool2d(1),
                                                  torch.nn.Flatten()).eval(), x[:, :1], y),
     r"could not take images of shape \(C, H, W\) = \(1, 32, 32\).*channels"),
    ("training on images the model does not take",
     lambda m, x, y: train_classifier(type(m)(30, width=4), x[:, :1], y, epochs=1), r"expects \(N, 3, H, W\)"),
    ("unknown quantize mode", lambda m, x, y: A.fgsm(m, x, y, quantize="x"), "valid choices are: 'none'"),
    ("labels to an attack that takes none", lambda m, x, y: A.rp_fgsm([m, m], x, y, iterations=2), "rp_fgsm takes no labels"),
    ("labels to a targeted-only attack", lambda m, x, y: A.jsma(m, x, y, targets=(y + 1) % 30), "JSMA takes no labels"),
    ("quantize as a bool", lambda m, x, y: A.di_fgsm(m, x, y, quantize=False), "not a bool: quantize=True is 'step'"),
    ("untargeted call of a targeted-only attack", lambda m, x, y: A.p_fgsm(m, x, y, targets=None),
     r"P-FGSM is targeted: pass targets= .* or targets='auto'"),
    ("'auto' to an attack with no target rule", lambda m, x, y: A.jsma(m, x, targets="auto"),
     "JSMA has no rule of its own for choosing targets"),
    ("'auto' to FGSM", lambda m, x, y: A.fgsm(m, x, y, targets="auto"), "FGSM has no rule of its own"),
    ("'auto' to PGD", lambda m, x, y: A.pgd(m, x, targets="auto"), "PGD has no rule of its own"),
    ("no targets to targeted I-FGSM", lambda m, x, y: A.targeted_ifgsm(m, x, targets=None),
     "targeted I-FGSM is targeted: pass targets="),
    ("unknown targets word", lambda m, x, y: A.e_fgsm(m, x, targets="random"), "not 'random'"),
    ("targets to an untargeted registry entry",
     lambda m, x, y: A.get_attack("U-FGSM (V-B)")(m, x, y, targets=y), "U-FGSM is untargeted"),
    ("targets to U-FGSM", lambda m, x, y: A.fgsm_variant(m, x, variant="U-FGSM", targets=y), "U-FGSM is untargeted"),
    ("labels to a targeted call", lambda m, x, y: A.p_fgsm(m, x, y), "P-FGSM is targeted in this call .* no use for labels"),
    ("labels beside targets", lambda m, x, y: A.cw_l2(m, x, y, targets=(y + 1) % 30), "C&W-L2 is targeted in this call"),
    ("'auto' to C&W", lambda m, x, y: A.cw_l2(m, x, targets="auto"), "C&W-L2 has no rule of its own"),
    ("a seed L-FGSM does not use", lambda m, x, y: A.fgsm_variant(m, x, variant="L-FGSM", seed=3),
     "L-FGSM does not use seed in this call"),
    ("a gamma R-FGSM does not use", lambda m, x, y: A.fgsm_variant(m, x, variant="R-FGSM", gamma=0.5),
     "R-FGSM does not use gamma in this call"),
    ("a gamma P-FGSM does not use with given targets",
     lambda m, x, y: A.fgsm_variant(m, x, variant="P-FGSM", targets=(y + 1) % 30, gamma=0.5, seed=2),
     "P-FGSM does not use gamma, seed in this call"),
    ("'auto' to U-FGSM", lambda m, x, y: A.fgsm_variant(m, x, variant="U-FGSM", targets="auto"), "U-FGSM is untargeted"),
    ("an unknown word for U-FGSM", lambda m, x, y: A.fgsm_variant(m, x, variant="U-FGSM", targets="x"),
     "U-FGSM is untargeted"),
    ("P-FGSM's sigma with given targets", lambda m, x, y: A.p_fgsm(m, x, targets=(y + 1) % 30, sigma=0.5),
     r"P-FGSM does not use sigma in this call \(a setting of its target rule"),
    ("P-FGSM's selection and seed with given targets",
     lambda m, x, y: A.p_fgsm(m, x, targets=(y + 1) % 30, selection="official", seed=4),
     "P-FGSM does not use selection, seed in this call"),
    ("R-FGSM's index with given targets", lambda m, x, y: A.r_fgsm(m, x, targets=(y + 1) % 30, index=[0, 1]),
     "R-FGSM does not use index in this call"),
    ("E-FGSM's seed without a draw", lambda m, x, y: A.e_fgsm([m, m], x, targets=None, seed=1),
     "E-FGSM does not use seed in this call"),
    ("RP-FGSM's gamma without a draw", lambda m, x, y: A.rp_fgsm([m, m], x, targets=(y + 1) % 30, gamma=0.5),
     "RP-FGSM does not use gamma in this call"),
    ("PGD's seed without a random start", lambda m, x, y: A.pgd(m, x, y, random_start=False, seed=3),
     "PGD does not use seed in this call"),
    ("K-anonymity's lr with L-BFGS-B", lambda m, x, y: A.k_anonymity_attack(m, x, y, lr=0.1),
     "does not use lr in this call .*solver='adam'"),
    ("K-anonymity's line search with Adam", lambda m, x, y: A.k_anonymity_attack(m, x, y, solver="adam", c_init=2.0),
     "does not use c_init in this call"),
    ("P-FGSM's sigma with the official selection", lambda m, x, y: A.p_fgsm(m, x, selection="official", sigma=0.5),
     "P-FGSM does not use sigma in this call \\(the official selection"),
    ("K-anonymity's K beside k", lambda m, x, y: A.k_anonymity_attack(m, x, y, k=torch.tensor([2, 2]), K=3),
     "does not use K in this call"),
    ("K-anonymity's population without index", lambda m, x, y: A.k_anonymity_attack(m, x, y, population=10),
     "does not use population in this call"),
    ("K-anonymity's CW-SSIM level without the term",
     lambda m, x, y: A.k_anonymity_attack(m, x, y, similarity_weight=0, cw_ssim_level=2),
     "does not use cw_ssim_level in this call"),
    ("CV's margin under top1", lambda m, x, y: A.color_variance_attack(m, x, y, margin=0.3),
     "does not use margin in this call"),
    ("CV's window beside a map", lambda m, x, y: A.color_variance_attack(m, x, y, window=7,
                                                                        cv_map=A.color_variance_map(x)),
     "does not use window in this call"),
    ("DI-FGSM's min_size and seed with p=0", lambda m, x, y: A.di_fgsm(m, x, y, p=0, min_size=20, seed=3),
     "DI-FGSM does not use min_size, seed in this call"),
    ("RP-FGSM's index with a shared schedule",
     lambda m, x, y: A.rp_fgsm([m, m], x, targets=None, per_image=False, index=[0, 1]),
     "RP-FGSM does not use index in this call"),
    ("K-anonymity's seed beside k", lambda m, x, y: A.k_anonymity_attack(m, x, y, k=torch.tensor([2, 2]), seed=5),
     "does not use seed in this call"),
    ("FGSM strength above the unit", lambda m, x, y: T.FGSMDirections(m, x, y).at(1.5), "eps must be <= 1"),
    ("adversarial set of another shape", lambda m, x, y: T.mat_training_set(x, y, [x[:1]]), "one example per original"),
    ("no adversarial set", lambda m, x, y: T.mat_training_set(x, y, []), "at least one adversarial set"),
    ("accuracy matrix of the wrong shape",
     lambda m, x, y: T.random_walk_selection(torch.ones(2, 3).numpy(), [1.0]), "one row per candidate"),
    ("negative penalty", lambda m, x, y: T.random_walk_selection(torch.ones(1, 3).numpy(), [1.0], penalty=-1),
     "penalty must be >= 0"),
]


@pytest.mark.parametrize("case", [c[0] for c in BAD_SETTINGS])
def test_bad_settings_are_refused_with_a_clear_message(model, batch, case):
    x, y = batch[0][:2], batch[1][:2]
    _, call, match = next(c for c in BAD_SETTINGS if c[0] == case)
    try:
        with pytest.raises((ValueError, TypeError), match=match):
            call(model, x, y)
    finally:
        model.eval()


UNKNOWN_NAMES = [
    ("attack", lambda: A.get_attack("PGD-42"), "valid choices are: 'FGSM'"),
    ("model", lambda: build_model("resnet9000"), "valid choices are: 'small_cnn'"),
    ("Places365 architecture", lambda: places365_model("vgg16"), "valid choices are: 'resnet18'"),
    ("profile", lambda: check_profile("fast"), "quick"),
    ("device", lambda: pick_device("tpu"), "cpu"),
    ("dataset split", lambda: synth_scenes("validation", n_per_class=1), "train"),
    ("protection condition", lambda: A.protection_condition(torch.zeros(1, 3), torch.zeros(1).long(), "top3"),
     "'top1', 'top5', 'top1-50'"),
]


@pytest.mark.parametrize("case", [c[0] for c in UNKNOWN_NAMES])
def test_unknown_names_list_the_valid_ones(case):
    _, call, match = next(c for c in UNKNOWN_NAMES if c[0] == case)
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("fn", [k for k in IMAGE_FUNCTIONS if k != "train_classifier"])
def test_no_function_modifies_its_inputs(model, batch, fn):
    x, y = batch[0][:4], batch[1][:4]
    x0, y0 = x.clone(), y.clone()
    IMAGE_FUNCTIONS[fn](model, x, y)
    assert torch.equal(x, x0) and torch.equal(y, y0)


DETERMINISM_SCRIPT = """
import hashlib, torch
from papers_core import attacks as A
from papers_core import defenses as D
from papers_core.data import synth_scenes
from papers_core.models import SmallCNN
from papers_core.train import train_classifier
torch.set_num_threads(1)
train = synth_scenes("train", n_per_class=6, seed=3)
model = train_classifier(SmallCNN(30, width=8), train.images, train.labels, epochs=2, seed=3)
x = synth_scenes("test", n_per_class=1, seed=3).images
h = hashlib.sha256()
for r in (A.p_fgsm(model, x, seed=5, iterations=5), A.color_variance_attack(model, x, A.predict_proba(model, x).argmax(1), iterations=5, seed=5)):
    h.update(r.adv.numpy().tobytes()); h.update(r.target.numpy().tobytes())
print(h.hexdigest())
"""


def test_same_seed_gives_bitwise_identical_results_across_processes():
    """Two fresh interpreters (different hash seeds, nothing shared) train, attack and get the same bytes."""
    import os
    import subprocess
    import sys

    outs = []
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        run = subprocess.run([sys.executable, "-c", DETERMINISM_SCRIPT], capture_output=True, text=True,
                             env=env, timeout=300)
        assert run.returncode == 0, run.stderr
        outs.append(run.stdout.strip())
    assert outs[0] == outs[1] and len(outs[0]) == 64


def test_float64_images_for_a_float32_model_are_refused_with_the_fix(model, scenes, counting):
    """Every attack checks the images against the model before its first model call: float64 images
    get a message that names the dtype, not a raw error from inside a convolution."""
    from papers_core.attacks import ATTACKS

    counted = counting(model)
    x = scenes[1].images[:2].double()
    for name, attack in ATTACKS.items():
        targets = torch.zeros(2, dtype=torch.long) if attack.needs_targets else None
        with pytest.raises(TypeError, match="float64.*x.float()"):
            attack(counted, x, torch.zeros(2, dtype=torch.long), targets=targets)
        assert counted.calls == 0, name   # refused before the first model call
