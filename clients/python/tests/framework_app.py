"""Serves a README block's push handler with its framework's own server, for
test_frameworks.py:

    python3 framework_app.py flask|fastapi|django BLOCK.py PORT

on 127.0.0.1:PORT, at /api/errand: Flask's and FastAPI's blocks define
`app` (served by werkzeug's development server, by uvicorn), Django's the
view `errand_push` (routed here, served by runserver behind the CSRF
middleware that csrf_exempt lifts). The block runs as written: handle_push
reads ERRAND_PUSH_SECRET from the environment."""

import os
import sys
import types

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def load(path):
    block = types.ModuleType("readme_block")
    with open(path, encoding="utf-8") as f:
        exec(compile(f.read(), path, "exec"), block.__dict__)
    return block


def serve_flask(path, port):
    load(path).app.run(host="127.0.0.1", port=port)


def serve_fastapi(path, port):
    import uvicorn

    uvicorn.run(load(path).app, host="127.0.0.1", port=port, log_level="warning")


def serve_django(path, port):
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.urls import path as route

    settings.configure(ROOT_URLCONF="readme_urls", ALLOWED_HOSTS=["127.0.0.1"], SECRET_KEY="framework-test-" * 4,
                       MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"])
    django.setup()
    urls = types.ModuleType("readme_urls")
    urls.urlpatterns = [route("api/errand", load(path).errand_push)]
    sys.modules["readme_urls"] = urls
    call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)


if __name__ == "__main__":
    framework, block_path, port = sys.argv[1:]
    {"flask": serve_flask, "fastapi": serve_fastapi, "django": serve_django}[framework](block_path, int(port))
