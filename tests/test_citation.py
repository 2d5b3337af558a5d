"""CITATION.cff: the keys CFF 1.2.0 requires, in step with the package's version and licence,
the APGAN+TTUR paper as preferred citation (year, arXiv id), PGAN, TTUR and the two datasets. Full YAML parsing only when a YAML parser
is already installed (no dependency is added for it)."""
import os
import re

import pytest

import pgan_tf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATH = os.path.join(REPO, "CITATION.cff")
PAPER = ("Data Augmentation for Skin Lesion using Self-Attention based Progressive Generative "
         "Adversarial Network")
PGAN = "Progressive Growing of GANs for Improved Quality, Stability, and Variation"
TTUR = "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium"
ISIC = ("Skin Lesion Analysis Toward Melanoma Detection 2018: A Challenge Hosted by the "
        "International Skin Imaging Collaboration (ISIC)")
HAM = ("The HAM10000 dataset, a large collection of multi-source dermatoscopic images of common "
       "pigmented skin lesions")


def _text():
    with open(PATH, encoding="utf-8") as f:
        return f.read()


def _top_level(text):
    """{key: value text} of the unindented `key: value` lines (a YAML subset, enough for CFF)."""
    return {m.group(1): m.group(2).strip().strip('"')
            for m in re.finditer(r"^([a-z][a-z0-9-]*):(.*)$", text, re.M)}


def _reference_titles(text):
    """Titles of the `references:` entries (indented `title:` lines after the key)."""
    refs = text.split("\nreferences:", 1)[1]
    return [t.strip().strip('"') for t in re.findall(r"^\s+title:(.*)$", refs, re.M)]


def test_required_keys_version_and_licence_match_the_package():
    keys = _top_level(_text())
    for key in ("cff-version", "message", "title", "authors", "type", "references"):
        assert key in keys, key
    assert keys["cff-version"] == "1.2.0"
    assert keys["type"] == "software"
    assert keys["version"] == pgan_tf.__version__
    with open(os.path.join(REPO, "setup.py"), encoding="utf-8") as f:
        assert f'license="{keys["license"]}"' in f.read()


def test_references_cite_the_paper_pgan_ttur_and_the_datasets():
    text = _text()
    assert _reference_titles(text) == [PAPER, PGAN, TTUR, ISIC, HAM]
    refs = text.split("\nreferences:", 1)[1]
    for identifier in ("arXiv:1910.11960", "arXiv:1902.03368", "10.1038/sdata.2018.161"):
        assert identifier in refs


def test_preferred_citation_is_the_paper_with_a_year_and_its_arxiv_id():
    """BibTeX exports (GitHub's "Cite this repository", cffconvert) use preferred-citation."""
    head = _text().split("\nreferences:", 1)[0]
    preferred = head.split("\npreferred-citation:", 1)[1]
    assert PAPER in preferred and re.search(r"^  year: 2019$", preferred, re.M)
    assert "arXiv:1910.11960" in preferred


def test_parses_as_yaml_when_a_parser_is_installed():
    yaml = pytest.importorskip("yaml")
    data = yaml.safe_load(_text())
    assert data["version"] == pgan_tf.__version__
    assert [r["title"] for r in data["references"]] == [PAPER, PGAN, TTUR, ISIC, HAM]
    assert data["preferred-citation"]["year"] == 2019
    assert data["references"][4]["volume"] == 5 and data["references"][4]["start"] == 180161
    assert [a["family-names"] for a in data["references"][0]["authors"]] == \
        ["Ali", "Mohamed", "Mahdy"]
