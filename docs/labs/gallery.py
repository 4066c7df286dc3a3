"""Write docs/labs.md, the gallery of the labs, from the registry and each lab's page.

    python docs/labs/gallery.py

One section per lab, in the order of the notes and grouped by topic: its claim, its source, its
figure and its verdict (read from the page's "Verdict:" line). The pages and figures themselves
(docs/labs/<name>.md, docs/labs/img/) come from `descend lab run NAME` (the full run).
"""

import os
import re

from descend import lab

HERE = os.path.dirname(os.path.abspath(__file__))
GROUPS = [  # (topic, first order number of the group)
    ("Representation: what networks can compute", 0),
    ("Backpropagation and the flow graph", 60),
    ("Initialization and depth", 70),
    ("Losses", 110),
    ("Optimization", 200),
    ("Generalization, regularization and averaging", 300),
]


def page_facts(name):
    """(first figure path, verdict text) of docs/labs/<name>.md."""
    with open(os.path.join(HERE, f"{name}.md")) as f:
        text = f.read()
    figure = re.search(r"!\[[^\]]*\]\((img/[^)]+)\)", text)
    verdict = re.search(r"Verdict:\s*\**\s*([^\n*]+)", text)
    return (figure.group(1) if figure else None), (verdict.group(1).strip().rstrip(".") if verdict else "see the page")


def gallery():
    labs = [lab.get(n) for n in lab.names()]
    lines = ["# Labs: the notes' claims, each shown by an experiment", "",
             "Every lab states a claim of the notes, runs an experiment written with descend's public API, and",
             "decides a verdict by a stated criterion. `descend lab list` lists them; `descend lab run NAME`",
             "(add `--quick` for the short version, `--all` for every lab) writes `labs/NAME/result.json` and",
             "the figures. A claim that a careful experiment does not confirm is reported as *not confirmed",
             "here*, with its numbers and a discussion on its page. The figures below are from the full runs.", ""]
    confirmed = sum(1 for e in labs if page_facts(e.name)[1].lower().startswith("confirmed"))
    lines += [f"**{confirmed} of {len(labs)} claims confirmed here.**", ""]
    for i, (topic, start) in enumerate(GROUPS):
        end = GROUPS[i + 1][1] if i + 1 < len(GROUPS) else float("inf")
        members = [e for e in labs if start <= e.order < end]
        if not members:
            continue
        lines += [f"## {topic}", ""]
        for e in members:
            figure, verdict = page_facts(e.name)
            lines += [f"### [`{e.name}`](labs/{e.name}.md)", "", f"> {e.claim}", "", f"*{e.source}.* "
                      f"**Verdict: {verdict}.**", ""]
            if figure:
                lines += [f"[![{e.name}](labs/{figure})](labs/{e.name}.md)", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    with open(os.path.join(os.path.dirname(HERE), "labs.md"), "w") as f:
        f.write(gallery())
