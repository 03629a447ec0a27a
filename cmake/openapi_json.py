#!/usr/bin/env python3
"""Converts docs/openapi.yaml to JSON at build time, for GET /v1/openapi.json.

    openapi_json.py IN.yaml OUT.json OUT.cpp

Writes OUT.json (the document, compact) and OUT.cpp (the same text as
errand::api::openapi_document()). Refuses a document that is not plain JSON
data (a YAML date, a non-string key) or not OpenAPI 3.1, so what the server
serves is exactly what the YAML says. Needs PyYAML (Debian python3-yaml).
"""
import json
import sys

import yaml


class _Loader(yaml.SafeLoader):
    """SafeLoader without the YAML 1.1 timestamp type: 2026-01-01 stays a string."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in _Loader.yaml_implicit_resolvers.items()
}


def check(value, where="$"):
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise SystemExit(f"{where}: key {k!r} is not a string: quote it")
            check(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check(v, f"{where}[{i}]")
    elif value is not None and not isinstance(value, (str, bool, int, float)):
        raise SystemExit(f"{where}: {value!r} is not JSON data: quote it")


def main():
    source, out_json, out_cpp = sys.argv[1:4]
    with open(source, encoding="utf-8") as f:
        doc = yaml.load(f, Loader=_Loader)
    check(doc)
    if not str(doc.get("openapi", "")).startswith("3.1."):
        raise SystemExit(f"{source}: not an OpenAPI 3.1 document")
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    delimiter = "openapi_json"
    if f"){delimiter}\"" in text:
        raise SystemExit("the document holds the raw string's delimiter")
    with open(out_json, "w", encoding="utf-8") as f:
        f.write(text)
    with open(out_cpp, "w", encoding="utf-8") as f:
        f.write("// Generated at build time from docs/openapi.yaml by cmake/openapi_json.py.\n"
                "#include \"api/openapi.hpp\"\n\nnamespace errand::api {\n\n"
                "std::string_view openapi_document() {\n"
                f"  return R\"{delimiter}({text}){delimiter}\";\n}}\n\n}}  // namespace errand::api\n")


if __name__ == "__main__":
    main()
