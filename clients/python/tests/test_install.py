"""`pip install ./clients/python` works offline, and the installed package is
the one that imports (no network: --no-index, and the build uses the
setuptools already installed: Debian's python3-setuptools and python3-pip,
with /usr/bin/python3 when it exists)."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class InstallTest(unittest.TestCase):
    def test_pip_installs_offline(self):
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        with tempfile.TemporaryDirectory() as tmp:
            # A copy, so the build's files (build/, *.egg-info) land outside the source tree.
            source, target = os.path.join(tmp, "src"), os.path.join(tmp, "site")
            shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns("tests", "__pycache__", "build", "*.egg-info"))
            subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-index", "--no-build-isolation",
                            "--target", target, source], check=True, cwd=tmp,
                           env=dict(os.environ, PIP_NO_CACHE_DIR="1", PIP_DISABLE_PIP_VERSION_CHECK="1"))
            out = subprocess.run([python, "-c", "import errand; print(errand.__file__); print(errand.Client)"],
                                 check=True, capture_output=True, text=True, cwd=tmp,
                                 env=dict(os.environ, PYTHONPATH=target)).stdout
            self.assertTrue(out.startswith(os.path.join(target, "errand")), out)
            self.assertIn("errand.client.Client", out)


if __name__ == "__main__":
    unittest.main()
