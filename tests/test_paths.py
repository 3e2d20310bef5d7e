"""Nothing a user reads or runs refers to a folder outside the repository (the developers' data kit,
their reference notes): notebooks, the README, the book's pages, data READMEs, and papers_core's
docstrings and messages."""
import re

from papers_core.runs import repo_root

# the developers' kit and notes live beside the repository, not in it
OUTSIDE = re.compile(r"\.\./shared|shared/(datasets|papers)|REFERENCE_NOTES")


def user_facing_files():
    root = repo_root()
    files = [root / "README.md", *root.glob("book/**/*.md"), *root.glob("notebooks/*.py"),
             *root.glob("papers_core/**/*.py"), *root.glob("data/**/*.md"), *root.glob("benchmarks/*.py"),
             root / "Makefile"]
    return [f for f in files if f.is_file() and "_build" not in f.parts and "cache" not in f.parts]


def test_user_facing_files_do_not_point_outside_the_repository():
    files = user_facing_files()
    assert len(files) > 20  # the scan sees the project
    hits = [f"{f.relative_to(repo_root())}:{n}: {line.strip()}" for f in files
            for n, line in enumerate(f.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
            if OUTSIDE.search(line)]
    assert not hits, "user-facing files refer to paths outside the repository:\n" + "\n".join(hits)


def test_the_scan_catches_an_outside_path(tmp_path):
    assert OUTSIDE.search("data_root = '../shared/datasets'") and OUTSIDE.search("see REFERENCE_NOTES.md")
    assert not OUTSIDE.search("data_root = 'data'")
