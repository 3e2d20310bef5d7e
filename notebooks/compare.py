# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The protections compared: which holds up against unseen, defended and adversarially trained classifiers, and at what cost
#
# Each of the five papers measures its method in its own setting: P-FGSM against one ResNet-50,
# RP-FGSM against seen and unseen classifiers behind defenses, the colour-variance attack for perceived
# quality, the K-anonymity attack for the spread of the true label's rank, and MAT from the other side,
# as a defense. A reader who wants to protect images cannot compare them from the papers, and none of
# them asks whether a classifier hardened the MAT way undoes the protections the other four propose.
# This page runs them all on **one set of images and classifiers**, with the same measures, each
# decided against the run's own sampling noise.
#
# **The protections** (each at its paper's settings, on the attacked classifier): P-FGSM (Li et al.),
# RP-FGSM targeted and untargeted (Sanchez-Matilla et al.), the colour-variance attack in its Top1-L1
# and Top5-noL1 runs (Sweere et al.), the K-anonymity attack with K = 5 (Mygdalis et al.), and as
# reference points FGSM, DeepFool and C&W-L2.
#
# **The threats**: the attacked (*seen*) classifier; an *unseen* classifier of another architecture
# (more accurate than the seen one, as the RP-FGSM paper's DenseNet-161 is); each of them behind the
# RP-FGSM paper's 14 defenses (re-quantisation, median, JPEG); and the seen classifier's recipe
# adversarially trained the MAT way (mixed and parallel MAT, with the MAT page's strength selection),
# beside its plain twin (the same recipe and seed without MAT), which separates what MAT does from what
# any independently trained copy does.
#
# **Profiles.** The published page runs the `quick` profile: the SynthScenes images and the stand-in
# classifiers of the RP-FGSM page (a SmallCNN attacked, a larger DenseNet unseen), and the MAT-trained
# SmallCNNs, all trained by `papers_core.zoo` (weights shipped in `data/models`). The `paper` profile
# runs the Places365 ResNet-50 (seen) and DenseNet-161 (unseen) on the 3000 MEPP18 images
# (`make reproduce PAPER=compare`); MAT at that scale needs the Places365 training set, which the
# project does not fetch, so the paper profile has no MAT threat. The quick numbers are not any
# paper's: what carries over is how the protections rank against each threat.

# %% tags=["remove-cell"]
# Colab, or a Jupyter without the project: clone and install papers_core (nothing to do where it is installed).
import importlib.util, os, subprocess, sys; importlib.util.find_spec("papers_core") or (subprocess.run(f"git clone --depth 1 https://github.com/papers-core/papers_core papers_core_repo && {sys.executable} -m pip install -q -e papers_core_repo", shell=True, check=True), os.chdir("papers_core_repo"), sys.path.insert(0, os.getcwd()))  # noqa: E401,E501

# %% tags=["parameters"]
profile = "quick"          # "quick" (CPU, embedded data) or "paper" (the MEPP18 images and Places365 checkpoints)
seed = 0
device = "auto"            # "auto", "cpu" or "cuda"
# use_cache (default True) and every setting of papers_core.profiles.Compare can be overridden here or with papermill's -p NAME VALUE.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import display

from papers_core import attacks as A
from papers_core import defenses as DEF
from papers_core import metrics as M
from papers_core import profiles
from papers_core.claims import Claim, Floor, bound_claim, compare_claim
from papers_core.progress import progress
from papers_core.reports import show_claims
from papers_core.runs import in_batches, notebook_setup, page_seed, timer
from papers_core.tasks import load_task
from papers_core.threats import Threat, pareto_front, protection_measures, rank_entropy

ROOT, dev, generator, cache, results, timings, cfg = notebook_setup("compare", globals())

# %% [markdown]
# ## Images and classifiers

# %% tags=["hide-input"]
with timer(timings, "data and models"):
    task = load_task("compare", cfg, profile, cache, seed=seed, device=dev, root=ROOT)
    CLASSIFIERS, arch = task.classifiers, task.arch
    seen, unseen = CLASSIFIERS["seen"], CLASSIFIERS["unseen"]
    class_names, x_test, y_test, x_fit, mat = task.class_names, task.x_test, task.y_test, task.x_fit, task.mat
    pool_probs = {k: A.predict_proba(m, x_test) for k, m in CLASSIFIERS.items()}
    # a protection matters for the images the classifier recognises (and the K-anonymity attack is
    # defined for those only): keep, per private class, the first test images the seen classifier gets right
    right = pool_probs["seen"].argmax(1).eq(y_test)
    keep = torch.cat([torch.nonzero(right & y_test.eq(c)).flatten()[:cfg.test_per_class]
                      for c in y_test.unique()]).sort().values
    pool, n_private = len(x_test), len(y_test.unique())
    clean_acc = pd.DataFrame({k: {"architecture": arch[k],
                                  **{f"T{j} (%)": round(v, 1) for j, v in M.topk_accuracy(p.cpu(), y_test.cpu()).items()}}
                              for k, p in pool_probs.items()}).T
    if len(keep) < 2:
        raise RuntimeError(f"the seen classifier classifies {len(keep)} of the {pool} test images correctly: "
                           "the comparison needs images it recognises (check the checkpoint and the image list).")
    x_test, y_test = x_test[keep], y_test[keep]
    n_test, n_classes = len(x_test), len(class_names)
clean_acc.index.name = f"classifier, accuracy on all {pool} test images ({profile})"
print(f"{n_test} test images ({n_test / n_private:.0f} per private class) that the seen classifier "
      f"classifies correctly, of {pool}")
_ = results.table(clean_acc, "classifiers")

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
display(clean_acc)

# %% [markdown]
# **MAT on the scene classifier.** The MAT page's method, applied to the seen classifier's recipe: FGSM
# examples at the MAT paper's 8-bit strengths (0 to 5 grey levels) crafted on a separate model (the
# ConvPoolNet stand-in), single-strength victims at every third strength, the random walk with its
# penalty chosen on held-out validation images, then mixed MAT (one network on the originals plus the
# selected strengths) and parallel MAT (the selected single-strength victims and the voting unit of
# Eq. 4). Note that the protections below move pixels by up to 16 grey levels (RP-FGSM's budget) or
# more (C&W, DeepFool): beyond the strengths MAT trains on, as an attacker in the wild would be.

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
if mat is not None:
    walk = mat.choice.table.copy()
    walk["strengths"] = [", ".join(f"{v:g}" for v in st) for st in walk.strengths]
    display(walk.set_index("penalty").round(2))
    print(f"selected strengths (grey levels): {', '.join(f'{s:g}' for s in mat.strengths)}; parallel MAT's "
          f"coefficients a_k: {', '.join(f'{a:.2f}' for a in mat.parallel.coefficients(x_test[:1]).flatten().tolist())}")
    if len(mat.strengths) == 1:
        print("The walk selects one strength: mixed and parallel MAT are then the same network, adversarial training "
              "at that strength (the originals plus their FGSM examples), and so give identical results below.")
else:
    print("paper profile: no MAT threat (MAT at Places365 scale needs the Places365 training set)")

# %% [markdown]
# ## The protections
#
# All on the seen classifier, at their papers' settings (`papers_core.profiles.Compare`):
#
# * **FGSM**: one signed-gradient step of 16 grey levels away from the predicted class.
# * **P-FGSM**: steps of 0.007 (in [0, 1]) towards a target drawn from the classes outside the top
#   cumulative probability $\sigma = 0.99$ (Eq. 10), at most 50, until $p(\text{target}) > 0.99$.
# * **RP-FGSM (T / U)**: $\bar N = 20$ steps of 1 grey level within $\epsilon = 16$, a transformation
#   (identity, re-quantisation, median, JPEG) drawn for each image at each step; targeted to Eq. 17's
#   candidates at $\gamma = 0.99$, or untargeted. With one seen classifier, $K = 1$.
# * **Colour variance, Top1-L1 / Top5-noL1**: Algorithm 1, $T = 100$ Adam steps (learning rate 0.05)
#   within $m = 50$ times the colour-variance map, in CV-PIRE's normalised units; the L1 weight
#   $\alpha$ chosen by the colour-variance page's rule (the smallest $\alpha$ whose Top1-L1 keeps the
#   label in the top 5 of at least 99 % of the images it protects) on `cv_tune_images` of the detector's
#   clean fitting images, never the test images, with the seen classifier's top-1 as their label.
# * **K-anonymity (K = 5)**: Eq. 6 by L-BFGS-B with the line search on $c$, the images split into $K$
#   groups that push the true class to ranks 2, ..., $K + 1$ (so its rank is uniform over 2 to 6).
# * **DeepFool** (10 candidate classes, overshoot 0.02) and **C&W-L2** towards the runner-up class
#   (`cw_search_steps` binary-search steps of `cw_iterations` Adam steps; the authors' 9 x 10000 in
#   the paper profile).

# %% tags=["hide-input"]
def seed_of(k):
    """The seed of the page's k-th random protection (each image draws from its own stream of it)."""
    return page_seed(seed, k)


def cv_top1(x, y, alpha, index=None):
    return A.color_variance_attack(seen, x, y, condition="top1", alpha=alpha, threshold=cfg.cv_threshold,
                                   iterations=cfg.cv_iterations, lr=cfg.cv_lr, seed=seed_of(4), index=index)


with timer(timings, "colour-variance alpha"):
    x_tune = x_fit[:cfg.cv_tune_images]
    y_tune = A.predict_proba(seen, x_tune).argmax(1)
    cv_sweep = A.alpha_sweep(lambda a, xs, ys: cv_top1(xs, ys, a), x_tune, y_tune,
                             sorted(float(a) for a in profiles.ColorVariance.alpha_grid))
    cv_rule, cv_why = A.choose_alpha(cv_sweep, profiles.ColorVariance.alpha_top5)
cv_alpha = cv_rule if cfg.cv_alpha is None else float(cfg.cv_alpha)
print(cv_sweep.round(4).to_string())
print(f"colour variance: alpha = {cv_alpha:g} ({'the rule: ' + cv_why if cfg.cv_alpha is None else 'set by cv_alpha'})")


PROTECTIONS = {
    "FGSM": lambda x, y, index: A.fgsm(seen, x, step=cfg.fgsm_eps),
    "P-FGSM": lambda x, y, index: A.p_fgsm(seen, x, sigma=cfg.sigma, seed=seed_of(1), index=index, step=cfg.pfgsm_step,
                                    iterations=cfg.pfgsm_iterations, threshold=cfg.pfgsm_threshold),
    "RP-FGSM (T)": lambda x, y, index: A.rp_fgsm(seen, x, targets="auto", gamma=cfg.gamma, step=cfg.rp_step,
                                                 eps=cfg.rp_eps, seed=seed_of(2), index=index),
    "RP-FGSM (U)": lambda x, y, index: A.rp_fgsm(seen, x, targets=None, step=cfg.rp_step, eps=cfg.rp_eps,
                                                 seed=seed_of(3), index=index),
    "CV Top1-L1": lambda x, y, index: cv_top1(x, y, cv_alpha, index),
    "CV Top5-noL1": lambda x, y, index: A.color_variance_attack(seen, x, y, condition="top5", alpha=0.0,
                                                                threshold=cfg.cv_threshold, iterations=cfg.cv_iterations,
                                                                lr=cfg.cv_lr, seed=seed_of(5), index=index),
    f"K-anonymity (K = {cfg.kanon_K})": lambda x, y, index: A.k_anonymity_attack(
        seen, x, y, K=cfg.kanon_K, search_steps=cfg.kanon_search_steps, iterations=cfg.kanon_iterations, seed=seed,
        index=index, population=n_test),
    "DeepFool": lambda x, y, index: A.deepfool(seen, x, num_candidates=10),
    "C&W": lambda x, y, index: A.cw_l2(seen, x, targets=A.predict_proba(seen, x).argsort(1, descending=True)[:, 1],
                                binary_search_steps=cfg.cw_search_steps, iterations=cfg.cw_iterations),
}
METHODS = list(PROTECTIONS)
PROTECTED, SECONDS = {}, {}
with timer(timings, "protections"):
    for name, fn in progress(list(PROTECTIONS.items()), desc="protections"):
        with timer(SECONDS, name):
            out = in_batches(fn, x_test, y_test, batch_size=cfg.batch_size, with_index=True, desc=name)
            PROTECTED[name] = out.adv if isinstance(out, A.AttackResult) else out
        SECONDS[name] /= n_test
print(f"{len(METHODS)} protections of {n_test} images in {timings['protections']:.0f} s")

# %% [markdown]
# ## The measures
#
# * **Misleading rate** (top-1 / top-5): the share of images whose true class is not among the
#   threat's top 1 / top 5; behind defenses, the mean over the 14 defenses (the RP-FGSM page's "with
#   defense").
# * **Irreversibility** (Li et al., Table 2): the distance between the uniform distribution and the
#   distribution of the seen classifier's label of the protected images, per true class (lower: harder
#   to undo by guessing the protection's target). For the attacks without a target the new label stands
#   in for it.
# * **Rank spread** (Mygdalis et al., Eq. 5): the entropy (bits) of the true label's rank under the seen
#   classifier; 0 when every image keeps the same rank, $\log_2 30 = 4.9$ when the ranks are uniform.
# * **Detectability** (Eq. 4 of the RP-FGSM paper): the share of the seen classifier's three
#   feature-squeezing detectors (one per defense family, $\tau$ at 5 % false positives on clean
#   training images) that flag the image; about 5 % on clean images.
# * **Quality**: PSNR (dB), SSIM, the mean CIEDE2000 colour difference $\Delta E_{00}$ over the pixels,
#   and BRISQUE (lower is better); **time** per image (batched, this machine).

# %% tags=["hide-input"]
with timer(timings, "measures"):
    THREATS = [Threat("seen", seen), Threat("seen + defenses", seen, DEF.paper_defenses()),
               Threat("unseen", unseen), Threat("unseen + defenses", unseen, DEF.paper_defenses())]
    if mat is not None:
        THREATS += [Threat(n, CLASSIFIERS[n]) for n in ("plain twin", "mixed MAT", "parallel MAT")]
    detectors = DEF.family_detectors({"seen": seen}, x_fit, ("requantize", "median", "jpeg"), cfg.detector_fpr)
    PER = {name: protection_measures(x_test, adv, y_test, THREATS, detectors=detectors)
           for name, adv in progress(list(PROTECTED.items()), desc="measures")}
    CLEAN = protection_measures(x_test, x_test, y_test, THREATS, detectors=detectors, brisque=False)
THREAT_NAMES = [t.name for t in THREATS]


def summary_row(name):
    per = PER[name]
    row = {f"{t} T{k}": 100 * per[f"{t} T{k}"].mean() for t in THREAT_NAMES for k in (1, 5)}
    row["irreversibility"] = M.irreversibility(y_test, torch.as_tensor(per["label"]), n_classes)
    row["rank entropy (bits)"] = rank_entropy(per["rank"], n_classes)
    row["Det. (%)"] = 100 * per["Det."].mean()
    row.update({q: per[q].mean() for q in ("PSNR", "SSIM", "CIEDE2000", "BRISQUE")})
    row["s / image"] = SECONDS[name]
    return row


summary = pd.DataFrame({n: summary_row(n) for n in METHODS}).T
_ = results.table(summary.round(4), "summary")
print(f"clean images: detectors flag {100 * CLEAN['Det.'].mean():.1f} %; misled at top-1 by " +
      ", ".join(f"{t} {100 * CLEAN[f'{t} T1'].mean():.0f} %" for t in THREAT_NAMES))

# %% [markdown]
# ### The summary table
#
# Top-1 misleading rate (%) against each threat, then the privacy and quality measures (top-5 rates in
# the full table, `results/<profile>/compare/summary.csv`). Higher misleading rates, rank entropy and
# PSNR/SSIM, and lower irreversibility, detectability, $\Delta E_{00}$ and BRISQUE are better for the
# protected person.

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
view = summary[[f"{t} T1" for t in THREAT_NAMES]].astype(float).round(1)
view.columns = [c.removesuffix(" T1") for c in view.columns]
view.index.name = f"top-1 misleading rate, % ({profile})"
display(view)

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
qual = summary[["irreversibility", "rank entropy (bits)", "Det. (%)", "PSNR", "SSIM", "CIEDE2000", "BRISQUE"]].astype(float)
qual_view = qual.round({"irreversibility": 3, "rank entropy (bits)": 2, "Det. (%)": 1, "PSNR": 1, "SSIM": 3,
                        "CIEDE2000": 2, "BRISQUE": 1})
qual_view.index.name = f"protection ({profile})"
display(qual_view)

# %% [markdown]
# Time per image (seconds, batched, this machine; not checked by the tests, since it varies between runs):

# %% tags=["hide-input"]
print(summary["s / image"].astype(float).round(3).to_string())

# %% [markdown]
# ### Which protection survives which threat
#
# A protection *survives* a threat when more than half of the images keep their true class out of the
# threat's top-1: "survives" when the whole 95 % interval of the misleading rate (shown in brackets: exact
# binomial, or a bootstrap over images behind defenses) is above 50 %, "broken" when it is wholly
# below, and "?" when the interval straddles 50 %.

# %% tags=["hide-input"]
SYMBOL = {"holds": "survives", "does not hold": "broken", "inconclusive": "?"}
cells = {n: {t: bound_claim(f"{n} survives {t}", "", PER[n][f"{t} T1"], cfg.survive) for t in THREAT_NAMES}
         for n in METHODS}
survival = pd.DataFrame({n: {t: f"{SYMBOL[c.verdict]}: {c.this_run} {c.margin.split(' (')[0]}" for t, c in row.items()}
                         for n, row in cells.items()}).T
survival.index.name = f"protection ({profile})"
_ = results.table(survival, "survival")

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
display(survival)

# %% [markdown]
# ## Privacy against quality
#
# For each threat, the top-1 misleading rate against SSIM, with the Pareto front (the protections that
# no other beats on both axes) joined and ringed.

# %% tags=["hide-input"]
cols = 4 if len(THREAT_NAMES) > 4 else len(THREAT_NAMES)
rows_ = int(np.ceil(len(THREAT_NAMES) / cols))
fig, axes = plt.subplots(rows_, cols, figsize=(4.2 * cols, 3.8 * rows_), squeeze=False)
ssim_mean = summary["SSIM"].astype(float).values
for ax, t in zip(axes.flat, THREAT_NAMES):
    priv = summary[f"{t} T1"].astype(float).values
    front = pareto_front(priv, ssim_mean)
    for i, n in enumerate(METHODS):
        ax.scatter(ssim_mean[i], priv[i], color=f"C{i}", label=n, zorder=3)
        if front[i]:
            ax.scatter(ssim_mean[i], priv[i], s=160, facecolors="none", edgecolors="k", zorder=4)
    order = np.argsort(ssim_mean[front])
    ax.plot(ssim_mean[front][order], priv[front][order], "k--", lw=0.8, zorder=2)
    ax.set(title=t, xlabel="SSIM", ylabel="top-1 misleading rate (%)", ylim=(-3, 103))
for ax in list(axes.flat)[len(THREAT_NAMES):]:
    ax.axis("off")
handles, labels = axes.flat[0].get_legend_handles_labels()
fig.legend(handles, labels, loc="lower right" if len(THREAT_NAMES) % cols else "center right", fontsize=8)
fig.tight_layout(rect=(0, 0, 1 if len(THREAT_NAMES) % cols else 0.86, 1))
results.figure(fig, "privacy_quality")
plt.show()

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
fronts = pd.DataFrame({t: {"Pareto front (top-1 misleading rate vs SSIM)": ", ".join(
    n for n, f in zip(METHODS, pareto_front(summary[f"{t} T1"].astype(float).values, ssim_mean)) if f)}
    for t in THREAT_NAMES}).T
fronts.index.name = f"threat ({profile})"
display(fronts)

# %% [markdown]
# ## Where the true label goes
#
# The rank of the true label under the seen classifier after each protection (the K-anonymity paper's
# Fig. 1): K-anonymity spreads it over ranks 2 to 6 by design; the others leave it where their
# objective happens to put it.

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(10, 3.6))
width = 0.8 / len(METHODS)
ranks_shown = np.arange(1, 11)
for i, n in enumerate(METHODS):
    pmf = np.bincount(PER[n]["rank"] - 1, minlength=n_classes)[:10] / n_test
    ax.bar(ranks_shown + (i - len(METHODS) / 2) * width, pmf, width, color=f"C{i}", label=n)
ax.set(xlabel="rank of the true label (1 = top)", ylabel="share of images", xticks=ranks_shown)
ax.legend(fontsize=7, ncol=3)
results.show(fig, "rank_pmf")

# %% [markdown]
# ## What MAT does to each protection
#
# Top-1 misleading rate against the seen classifier, its plain twin (the same recipe and seed as the
# MAT networks, without MAT) and the two MAT classifiers. MAT's effect is the difference between a MAT
# classifier and the plain twin, on the same images (paired).

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
if mat is not None:
    mat_view = summary[[f"{t} T1" for t in ("seen", "plain twin", "mixed MAT", "parallel MAT")]].astype(float)
    mat_view.columns = ["seen", "plain twin", "mixed MAT", "parallel MAT"]
    for m_ in ("mixed MAT", "parallel MAT"):
        mat_view[f"{m_} - twin"] = mat_view[m_] - mat_view["plain twin"]
    mat_view = mat_view.round(1)
    mat_view.index.name = f"top-1 misleading rate, % ({profile})"
    display(mat_view)
else:
    print("paper profile: no MAT threat")

# %% [markdown]
# ## Verdicts
#
# One verdict per protection, each a claim decided on the run's sampling noise (the front page's
# scorecard gathers them under this page): that it **survives every threat** (the survival rule above,
# for each threat; holds only if it survives all, fails if any threat breaks it), and, where MAT is
# measured, that **MAT undoes it**: parallel MAT is misled less often than the plain twin (paired
# bootstrap over the images), by at least the page's floor of practical relevance (printed below). No
# paper makes these claims; they are this page's questions.

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
def survives_all(n):
    verdicts = {t: c.verdict for t, c in cells[n].items()}
    weakest = min(THREAT_NAMES, key=lambda t: PER[n][f"{t} T1"].mean())
    verdict = ("does not hold" if "does not hold" in verdicts.values()
               else "holds" if all(v == "holds" for v in verdicts.values()) else "inconclusive")
    broken = [t for t, v in verdicts.items() if v == "does not hold"]
    return Claim(f"{n} survives every threat", "(this page's question)",
                 f"weakest: {weakest} {cells[n][weakest].this_run}" + (f"; broken by {', '.join(broken)}" if broken else ""),
                 verdict, f"top-1 misleading rate under each of {len(THREAT_NAMES)} threats",
                 f"every threat's rate above {100 * cfg.survive:.0f} % (whole 95 % interval)",
                 f"{weakest}: {cells[n][weakest].margin}")


claims = [survives_all(n) for n in METHODS]
RATE = Floor(0.01, "the page's floor of practical relevance")
if mat is not None:
    print(f"floor for 'MAT undoes': {100 * RATE.value:g} points of the misleading rate ({RATE.source})")
    claims += [compare_claim(f"MAT (parallel) undoes {n}", "(this page's question)", PER[n]["parallel MAT T1"],
                             PER[n]["plain twin T1"], names=("parallel MAT", "plain twin"), direction="below",
                             quantity="top-1 misleading rate, parallel MAT - plain twin", by=RATE) for n in METHODS]
claims_df = show_claims(claims, "compare", profile, results)

# %% [markdown]
# ## Run time and provenance

# %% tags=["hide-input"]
print(f"results in {results.root.relative_to(ROOT) if results.root.is_relative_to(ROOT) else results.root}; "
      f"commit {results.provenance['git_commit'][:12]}")
print(pd.Series(timings).round(1).to_string())
