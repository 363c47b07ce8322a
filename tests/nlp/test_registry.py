"""The registry: every registered name with what it assigns and requires, one classifier per
catalog module, and no import of a classifier module by the registry itself."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

from core.errors import ClassificationError
from nlp import available_classifiers, get_classifier, register_classifier
from nlp.catalog import BUILTIN_MODULES
from nlp.registry import Classifier
from tests.conftest import ROOT

OPTIONS = {"lexicon_path": ROOT / "config" / "intents.yaml", "models_dir": ROOT / "var" / "models"}


def test_registry_snapshot_lists_every_classifier_with_its_tasks() -> None:
    # Adding, renaming or rewiring a classifier must update this table on purpose.
    assert {
        name: (spec.assigns, spec.requires) for name, spec in available_classifiers().items()
    } == {
        "intent.keywords.v1": (("intent",), ("sentiment",)),
        "intent.m2v.v1": (("intent",), ("sentiment",)),
        "intent.minilm.v1": (("intent",), ("sentiment",)),
        "language.lingua.v1": (("language",), ()),
        "language.stopwords.v1": (("language",), ()),
        "pii.regex.v1": (("pii",), ()),
        "pii.spacy.v1": (("pii",), ()),
        "private.brand.v1": (("private",), ("spam", "pii", "intent")),
        "private.rules.v1": (("private",), ("spam", "pii", "intent")),
        "private.brand.v2": (("private",), ("spam", "pii", "intent", "sentiment")),
        "private.rules.v2": (("private",), ("spam", "pii", "intent", "sentiment")),
        "sentiment.m2v.v1": (("sentiment",), ()),
        "sentiment.minilm.v1": (("sentiment",), ()),
        "sentiment.vader.v1": (("sentiment",), ()),
        "spam.rules.v1": (("spam",), ()),
        "spam.rules.v2": (("spam",), ()),
    }


def test_registry_imports_no_classifier_module() -> None:
    tree = ast.parse((ROOT / "nlp" / "registry.py").read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.startswith("nlp.classifiers")}
    assert not imported & set(BUILTIN_MODULES)
    assert {name for name in imported if name.startswith("nlp.")} == {"nlp.catalog"}


def test_registry_loads_classifier_modules_only_on_first_lookup() -> None:
    script = (
        "import sys\n"
        "import nlp\n"
        "assert not [m for m in sys.modules if m.startswith('nlp.classifiers.')], 'eager'\n"
        "names = nlp.available_classifiers()\n"
        "print(sorted(m for m in sys.modules if m.startswith('nlp.classifiers.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout
    assert out.strip() == str(sorted(BUILTIN_MODULES))


def test_catalog_holds_one_classifier_per_module_named_after_it() -> None:
    modules = {
        type(get_classifier(name, **OPTIONS)).__module__: name for name in available_classifiers()
    }
    assert sorted(modules) == sorted(BUILTIN_MODULES)
    for module, name in modules.items():
        assert module == "nlp.classifiers." + name.replace(".", "_")


@pytest.mark.parametrize(
    ("name", "assigns", "requires", "message"),
    [
        ("Sentiment Nope", ("sentiment",), (), "is not of the form"),
        ("sentiment.nope", ("sentiment",), (), "is not of the form"),
        ("sentiment.nope.v1", (), (), "assigns no task"),
        ("sentiment.nope.v1", ("sentiment",), ("sentiment",), "cannot require a task it assigns"),
    ],
)
def test_register_classifier_rejects_malformed_registrations(
    name: str, assigns: tuple[str, ...], requires: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ClassificationError, match=message):
        register_classifier(name, assigns=assigns, requires=requires)


def test_register_classifier_refuses_a_taken_name() -> None:
    class Impostor(Classifier):
        pass

    with pytest.raises(ClassificationError, match="already registered"):
        register_classifier("spam.rules.v1", assigns=("spam",))(Impostor)
    assert type(get_classifier("spam.rules.v1")).__name__ == "RuleSpam"
