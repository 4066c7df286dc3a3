"""Every lab has its docs page and figure, and docs/labs.md is the gallery the script makes."""

import importlib.util
import os

from descend import lab

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs")


def _gallery_module():
    spec = importlib.util.spec_from_file_location("gallery", os.path.join(DOCS, "labs", "gallery.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_lab_has_a_page_a_figure_and_a_verdict():
    g = _gallery_module()
    for name in lab.names():
        figure, verdict = g.page_facts(name)
        assert figure is not None and os.path.exists(os.path.join(DOCS, "labs", figure)), name
        assert verdict.startswith(("confirmed", "not confirmed here")), (name, verdict)


def test_the_gallery_is_up_to_date():
    with open(os.path.join(DOCS, "labs.md")) as f:
        assert f.read() == _gallery_module().gallery(), "run: python docs/labs/gallery.py"


def test_at_least_the_issue_s_thirty_labs():
    assert len(lab.names()) >= 30
