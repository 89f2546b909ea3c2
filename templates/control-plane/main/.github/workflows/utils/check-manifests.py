#!/usr/bin/env python3
"""Checks the control-plane repository before a change is promoted (run by ci.yaml).

Every YAML file must parse. Every YAML document outside .github/ must be a Kubernetes object
naming its apiVersion, kind and metadata.name, and every Kalypso object must have a spec. The
helper scripts under .github/workflows/utils/ must be executable. Problems are printed as GitHub
error annotations; the exit status is 1 if there is any.

Usage: check-manifests.py [REPOSITORY_ROOT]
"""

import os
import sys
from pathlib import Path

try:
    import yaml
except ImportError:
    sys.exit("check-manifests: PyYAML is required (python3 -m pip install PyYAML)")

KALYPSO_API_GROUP = "scheduler.kalypso.io/"
HELPER_SCRIPTS = Path(".github/workflows/utils")


def document_problems(index, document):
    where = f"document {index}"
    if not isinstance(document, dict):
        return [f"{where} is not a Kubernetes object"]
    problems = []
    for field in ("apiVersion", "kind"):
        value = document.get(field)
        if not isinstance(value, str) or not value:
            problems.append(f"{where} has no {field}")
    metadata = document.get("metadata")
    if not isinstance(metadata, dict) or not metadata.get("name"):
        problems.append(f"{where} has no metadata.name")
    api_version = document.get("apiVersion")
    if isinstance(api_version, str) and api_version.startswith(KALYPSO_API_GROUP):
        if not isinstance(document.get("spec"), dict):
            problems.append(f"{where} ({document.get('kind')}) has no spec")
    return problems


def file_problems(path, relative):
    try:
        with path.open(encoding="utf-8") as stream:
            documents = list(yaml.safe_load_all(stream))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        return ["not valid YAML: " + " ".join(str(error).split())]
    if relative.parts[0] == ".github":
        return []
    problems = []
    for index, document in enumerate(documents, start=1):
        if document is not None:
            problems.extend(document_problems(index, document))
    return problems


def main(argv):
    root = Path(argv[1] if len(argv) > 1 else ".")
    if not root.is_dir():
        print(f"check-manifests: {root} is not a directory", file=sys.stderr)
        return 2
    problems = []
    checked = 0
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if ".git" in relative.parts or not path.is_file():
            continue
        if path.suffix in (".yaml", ".yml"):
            checked += 1
            problems.extend((relative, p) for p in file_problems(path, relative))
        if relative.parent == HELPER_SCRIPTS and path.suffix in (".sh", ".py"):
            if not os.access(path, os.X_OK):
                problems.append((relative, "helper script is not executable (git update-index --chmod=+x)"))
    for relative, problem in problems:
        print(f"::error file={relative}::{problem}")
    if problems:
        print(f"check-manifests: {len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"check-manifests: {checked} YAML file(s) checked, no problems")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
