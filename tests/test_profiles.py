"""The profiles: one settings object per paper and profile, overridable by papermill parameters, and the
reference page lists them as they are."""
import dataclasses
import re

import pytest

from papers_core import profiles
from papers_core.runs import repo_root


@pytest.mark.parametrize("paper", list(profiles.PAPERS))
def test_quick_and_paper_settings_differ_where_the_profiles_do(paper):
    quick, paper_cfg = profiles.settings(paper, "quick"), profiles.settings(paper, "paper")
    cls, paper_values = profiles.PAPERS[paper]
    assert isinstance(quick, cls) and isinstance(paper_cfg, cls)
    for f in dataclasses.fields(cls):
        expected = paper_values.get(f.name, getattr(quick, f.name))
        assert getattr(paper_cfg, f.name) == expected, f.name
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.batch_size = 1 if hasattr(quick, "batch_size") else None


def test_papermill_parameters_override_and_other_names_are_ignored():
    cfg = profiles.settings("rp_fgsm", "paper", {"batch_size": 8, "profile": "paper", "np": object(),
                                                 "ablation_images": 16})
    assert cfg.batch_size == 8 and cfg.ablation_images == 16 and cfg.cw_iterations == 10_000
    assert profiles.settings("p_fgsm", "quick", {"step": 2}).step == 2      # an int for a float is fine
    with pytest.raises(TypeError, match="batch_size must be int"):
        profiles.settings("rp_fgsm", "quick", {"batch_size": "32"})
    with pytest.raises(ValueError, match="valid choices"):
        profiles.settings("rp_fgsm", "fast")
    with pytest.raises(ValueError, match="valid choices"):
        profiles.settings("rp-fgsm", "quick")


def test_the_paper_profile_uses_the_papers_settings():
    assert profiles.settings("rp_fgsm", "paper").cw_search_steps == 9       # C&W's authors
    assert profiles.settings("rp_fgsm", "paper").cw_iterations == 10_000
    assert profiles.settings("k_anonymity", "paper").n_attack == 1000
    assert set(profiles.settings("mat", "paper").all_datasets) == {"mnist", "cifar10", "cifar100", "svhn"}
    assert set(profiles.settings("mat", "quick").all_datasets) == {"mnist", "cifar10", "cifar100", "svhn"}  # stand-ins
    assert profiles.settings("p_fgsm", "paper").step == pytest.approx(0.007 * 255)


def test_reference_page_lists_the_current_settings():
    page = (repo_root() / "book" / "reference.md").read_text()
    block = re.search(r"<!-- profiles:start[^>]*-->\n(.*?)\n<!-- profiles:end -->", page, re.S).group(1)
    assert block.strip() == profiles.markdown().strip(), \
        "book/reference.md is out of date: paste papers_core.profiles.markdown() between the profiles markers"


def test_every_notebook_reads_its_settings_from_the_profile():
    for paper in profiles.PAPERS:
        src = (repo_root() / "notebooks" / f"{paper}.py").read_text()
        assert f'cfg = notebook_setup("{paper}", globals())' in src, paper
        params = src.split('tags=["parameters"]', 1)[1].split("# %%", 1)[0]
        assigned = set(re.findall(r"^(\w+) =", params, re.M))
        assert assigned == {"profile", "seed", "device"}, (paper, assigned)
        # no number chosen by profile inside a page: those live in papers_core.profiles
        assert not re.search(r"[\d)]\s+if (QUICK|profile ==)[^\n]*else\s+[\d(]", src), paper
