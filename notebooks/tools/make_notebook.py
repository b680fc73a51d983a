"""Writes a Polyglot (.NET Interactive) C# notebook without outputs from a simple list of (kind, text) cells.

Usage from another script: make('01-why-multitask.ipynb', [('md', '...'), ('cs', '...'), ...]).
Kept so notebooks stay consistent (metadata, first cell) when edited; the .ipynb files are the source of truth.
"""
import json

META = {
    "kernelspec": {"display_name": ".NET (C#)", "language": "C#", "name": ".net-csharp"},
    "language_info": {"name": "polyglot-notebook"},
    "polyglot_notebook": {"kernelInfo": {"defaultKernelName": "csharp", "items": [{"aliases": [], "name": "csharp"}]}},
}

def lines(text):
    text = text.strip("\n")
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + [parts[-1]]

def make(path, cells):
    out = []
    for kind, text in cells:
        if kind == "md":
            out.append({"cell_type": "markdown", "metadata": {}, "source": lines(text)})
        else:
            out.append({"cell_type": "code", "execution_count": None,
                        "metadata": {"dotnet_interactive": {"language": "csharp"}, "polyglot_notebook": {"kernelName": "csharp"}},
                        "outputs": [], "source": lines(text)})
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"cells": out, "metadata": META, "nbformat": 4, "nbformat_minor": 5}, f, indent=1, ensure_ascii=False)
        f.write("\n")
