"""A griffe extension for the API reference: descend's docstrings are written in reST habits, rendered as Markdown.

The reference (mkdocstrings, ``docstring_style: null``) renders each docstring as Markdown, which keeps the
notes' Unicode notation as it is. Three reST habits would otherwise show through; they are rewritten here,
in the rendered copy only (the source is untouched):

- Sphinx roles, ``:func:`~descend.optim.schedules.cosine```, become code spans (the short name with ``~``);
- a paragraph ending in ``::`` ends in ``:`` (its indented block is a Markdown code block already);
- a list right under its paragraph's last line gets the blank line Markdown needs;
- a simple table (rows between ``=====  =====`` borders) becomes an indented code block, kept aligned (its
  ````code```` marks dropped: everything in it is code).
"""

import re

import griffe

ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj|ref):`(~?)([^`]+)`")
BORDER = re.compile(r"^(\s*)=+(\s+=+)+\s*$")
ITEM = re.compile(r"^(?:[-*]|\d+\.) \S")


def _role(match):
    target = match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if match.group(1) else target}`"


def _plain(row):
    """A table row without its ````code```` marks, the next column kept where it was."""
    row = re.sub(r"``([^`]+)``(\s{2,})", lambda m: m.group(1) + m.group(2) + "    ", row)
    return row.replace("``", "")


def markdown(text):
    """``text`` (a docstring) with the reST habits above rewritten as Markdown."""
    text = ROLE.sub(_role, text)
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        line = lines[i]
        border = BORDER.match(line)
        if border:
            indent = len(border.group(1))
            j = i + 1  # the table ends at a border followed by a blank line or the end (a header rule is not)
            while j < len(lines) and not (BORDER.match(lines[j]) and (j + 1 == len(lines) or not lines[j + 1].strip())):
                j += 1
            j += 1
            if out and out[-1].strip():
                out.append("")
            out += ["    " + _plain(row[indent:]) for row in lines[i:j] if not BORDER.match(row)]
            out.append("")
            i = j
            continue
        prev = out[-1] if out else ""
        if ITEM.match(line) and prev.strip() and not prev.startswith(" ") and not ITEM.match(prev):
            out.append("")  # reST lets a list follow its paragraph's last line; Markdown needs a blank line
        if line.rstrip().endswith("::") and not line.strip().startswith((">>>", "...")):
            stripped = line.rstrip()[:-2].rstrip()
            line = stripped + ":" if stripped else ""
        out.append(line)
        i += 1
    return "\n".join(out)


class ReSTHabits(griffe.Extension):
    """Rewrite every loaded docstring with :func:`markdown`."""

    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
