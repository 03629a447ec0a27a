"""Checks the server's answers against docs/openapi.yaml, the API's OpenAPI document.

`check_answer(method, target, status, content_type, body)` finds the
document's operation for the request (path templates as the router matches
them: literal paths first), its response for the status (the exact code, else
`default`), and validates a JSON body against that response's schema with
JSON Schema 2020-12 (OpenAPI 3.1's dialect). An answer the document does not
describe raises `OpenApiMismatch`, naming the route, the status and what
differs. The harness calls it for every answer it receives, so every
integration test checks the document too.

Needs PyYAML and jsonschema (Debian python3-yaml, python3-jsonschema;
scripts/install-deps.sh test installs them).
"""

import os
import re
import threading
import urllib.parse

DOC_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "openapi.yaml")
METHODS = ("get", "put", "post", "delete", "patch")


class OpenApiMismatch(AssertionError):
    pass


_lock = threading.Lock()
_state = {}


def load_document(path=DOC_PATH):
    """The document as JSON data (YAML timestamps stay strings, as the build's converter reads it)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=Loader)


def _template_regex(template):
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


def _setup():
    with _lock:
        if not _state:
            try:
                import jsonschema
            except ImportError as e:
                raise RuntimeError(f"{e}: the integration tests validate answers with python3-jsonschema "
                                   "(scripts/install-deps.sh test installs it)") from e
            doc = load_document()
            literal, templated = [], []
            for template in doc["paths"]:
                (templated if "{" in template else literal).append((template, _template_regex(template)))
            _state.update(doc=doc, routes=literal + templated, validators={}, jsonschema=jsonschema)
    return _state


def find_operation(method, path):
    """(template, operation) for a request, or (None, None) when the document has no such route."""
    state = _setup()
    for template, rx in state["routes"]:
        if rx.match(path):
            return template, state["doc"]["paths"][template].get(method.lower())
    return None, None


def _pointer(*parts):
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _resolve(obj, doc):
    while isinstance(obj, dict) and "$ref" in obj and len(obj) == 1:
        node = doc
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        obj = node
    return obj


def _validator(pointer):
    """A validator of the schema at `pointer`, with the document as root so
    its `$ref`s resolve."""
    state = _state
    with _lock:
        v = state["validators"].get(pointer)
        if v is None:
            doc = state["doc"]
            root = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": pointer,
                    "components": doc["components"], "paths": doc["paths"]}
            v = state["jsonschema"].Draft202012Validator(root)
            state["validators"][pointer] = v
    return v


def check_answer(method, target, status, content_type, body):
    """Raises OpenApiMismatch when the answer is not what the document says."""
    method = method.upper()
    if method in ("HEAD", "OPTIONS"):
        return
    path = urllib.parse.urlsplit(target).path
    state = _setup()
    doc = state["doc"]
    is_json = (content_type or "").split(";")[0].strip() == "application/json"
    template, op = find_operation(method, path)
    where = f"{method} {path} → {status}"
    if op is None:
        # No such route (404) or method (405): the answer must be an error.
        if status < 400:
            raise OpenApiMismatch(f"{where}: docs/openapi.yaml has no operation {method} "
                                  f"{template or path}, yet the server answered {status}")
        pointer = _pointer("components", "schemas", "Error")
    else:
        responses = op.get("responses", {})
        key = str(status) if str(status) in responses else "default" if "default" in responses else None
        if key is None:
            raise OpenApiMismatch(f"{where}: {method} {template} documents no response {status}")
        response = _resolve(responses[key], doc)
        content = response.get("content")
        if not content:
            if body not in (None, ""):
                raise OpenApiMismatch(f"{where}: documented without a body, but one came: {str(body)[:200]!r}")
            return
        if not is_json:
            if content_type and content_type.split(";")[0].strip() not in content and "text/plain" not in content:
                raise OpenApiMismatch(f"{where}: Content-Type {content_type!r} is not one of {sorted(content)}")
            return
        if "application/json" not in content:
            raise OpenApiMismatch(f"{where}: answered JSON, documented as {sorted(content)}")
        ref = responses[key].get("$ref") if isinstance(responses[key], dict) else None
        if ref and len(responses[key]) == 1:
            pointer = ref + "/content/application~1json/schema"
        else:
            pointer = _pointer("paths", template, method.lower(), "responses", key, "content",
                               "application/json", "schema")
    if not is_json or isinstance(body, str):
        if status >= 400 and op is None and not is_json:
            return  # an answer the router gives before any route (e.g. 431), not JSON
        if not is_json:
            raise OpenApiMismatch(f"{where}: expected JSON, got Content-Type {content_type!r}")
        raise OpenApiMismatch(f"{where}: the body is not JSON: {body[:200]!r}")
    errors = sorted(_validator(pointer).iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        at = "/".join(str(p) for p in e.absolute_path) or "(the body)"
        raise OpenApiMismatch(f"{where}: the answer does not match docs/openapi.yaml ({pointer}) at {at}: "
                              f"{e.message[:500]}; body: {str(body)[:500]}")
