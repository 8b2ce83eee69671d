"""Extract the GitHub Actions operations that ccm uses from GitHub's OpenAPI description.

The source is the npm package ``@octokit/openapi``, which publishes GitHub's official REST API
description (``generated/api.github.com.json``). The output, ``github-actions.json`` beside this
script, keeps only the operations in ``OPERATIONS`` and the components they reference. It drops
documentation text (``description``, emptied where OpenAPI 3.0 requires it), ``example(s)``,
tags and ``x-`` extensions to stay small. The output is committed. To regenerate it after a
new release of the package:

    python tests/github_openapi/extract.py                      # npm install into a temp dir
    python tests/github_openapi/extract.py --package-dir DIR    # an unpacked @octokit/openapi
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = "@octokit/openapi"
# The release the committed fixture was generated from; pass --version to move on.
PACKAGE_VERSION = "23.0.2"
DESCRIPTION_FILE = Path("generated") / "api.github.com.json"
OUTPUT = Path(__file__).with_name("github-actions.json")

OPERATIONS: dict[str, tuple[str, ...]] = {
    "/rate_limit": ("get",),
    "/repos/{owner}/{repo}": ("get",),
    "/repos/{owner}/{repo}/actions/workflows": ("get",),
    "/repos/{owner}/{repo}/actions/workflows/{workflow_id}": ("get",),
    "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/enable": ("put",),
    "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/disable": ("put",),
    "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches": ("post",),
    "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs": ("get",),
    "/repos/{owner}/{repo}/actions/runs": ("get",),
    "/repos/{owner}/{repo}/actions/runs/{run_id}": ("get",),
    "/repos/{owner}/{repo}/actions/runs/{run_id}/cancel": ("post",),
    "/repos/{owner}/{repo}/actions/runs/{run_id}/force-cancel": ("post",),
}

_DROPPED_KEYS = {"example", "examples", "tags", "externalDocs"}


def strip(node: Any, *, in_properties: bool = False) -> Any:
    """Return ``node`` without documentation text, examples and extensions.

    Inside a ``properties`` mapping the keys are property names, so a property that is
    literally called ``description`` (as on repositories) is kept.
    """
    if isinstance(node, list):
        return [strip(item) for item in node]
    if not isinstance(node, dict):
        return node
    kept: dict[str, Any] = {}
    for key, value in node.items():
        if not in_properties:
            if key in _DROPPED_KEYS or key.startswith("x-"):
                continue
            if key == "description" and isinstance(value, str):
                continue
        kept[key] = strip(value, in_properties=key == "properties" and not in_properties)
    return kept


def _references(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_references(item) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
    for value in node.values():
        found |= _references(value)
    return found


def extract(description: dict[str, Any]) -> dict[str, Any]:
    """Return an OpenAPI document with the ``OPERATIONS`` and every component they reference."""
    paths: dict[str, Any] = {}
    for path, methods in OPERATIONS.items():
        item = description["paths"][path]
        paths[path] = {method: strip(item[method]) for method in methods}

    components: dict[str, dict[str, Any]] = {}
    pending = _references(paths)
    seen: set[str] = set()
    while pending:
        reference = pending.pop()
        seen.add(reference)
        _, section, name = reference.removeprefix("#/").split("/")
        component = strip(description["components"][section][name])
        components.setdefault(section, {})[name] = component
        pending |= _references(component) - seen

    # OpenAPI 3.0 requires a description on every Response object.
    for operations in paths.values():
        for operation in operations.values():
            for response in operation["responses"].values():
                if "$ref" not in response:
                    response.setdefault("description", "")
    for response in components.get("responses", {}).values():
        response.setdefault("description", "")

    return {
        "openapi": description["openapi"],
        "info": {
            "title": f"GitHub REST API: the Actions operations used by ccm ({PACKAGE})",
            "version": description["info"]["version"],
        },
        "servers": description["servers"],
        "paths": paths,
        "components": {section: dict(sorted(items.items())) for section, items in sorted(components.items())},
    }


def _install_package(directory: Path, version: str) -> Path:
    subprocess.run(
        [
            "npm",
            "install",
            "--no-save",
            "--ignore-scripts",
            "--prefix",
            str(directory),
            f"{PACKAGE}@{version}",
        ],
        check=True,
    )
    return directory / "node_modules" / PACKAGE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--package-dir", type=Path, help=f"an unpacked {PACKAGE} package; default: npm install it"
    )
    parser.add_argument("--version", default=PACKAGE_VERSION, help=f"{PACKAGE} release to install")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        package_dir = args.package_dir or _install_package(Path(scratch), args.version)
        description = json.loads((package_dir / DESCRIPTION_FILE).read_text(encoding="utf-8"))
    document = extract(description)
    args.output.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"Wrote {args.output} ({len(document['paths'])} paths, OpenAPI {document['info']['version']}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
