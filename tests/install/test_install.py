"""The server as a system service: deploy/errand.service, the man page
deploy/errand.1, `cmake --install` and the .deb `make package` builds.

ctest sets ERRAND_BIN (the errand binary of its build), ERRAND_BUILD_DIR (that
build directory), ERRAND_SOURCE_DIR, ERRAND_CMAKE and ERRAND_CPACK. The .deb is
built here from that build directory, so it holds the binary the other tests
use (under sanitizers in the asan build); `make package` builds it from the
release build. Needs systemd-analyze (Debian's systemd), groff (groff-base),
dpkg-deb and dpkg-shlibdeps (dpkg-dev): scripts/install-deps.sh test.
"""
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import ErrandServer  # noqa: E402

SOURCE = os.environ.get("ERRAND_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
UNIT = os.path.join(SOURCE, "deploy", "errand.service")
MAN = os.path.join(SOURCE, "deploy", "errand.1")
CONFIG = os.path.join(SOURCE, "deploy", "errand.toml")


def env(name):
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"set {name} (ctest does this: tests/install.cmake)")
    return value


def run(*args, check=True, **kwargs):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL, **kwargs)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def need(program, package):
    path = shutil.which(program)
    if path is None:
        raise AssertionError(f"{program} is missing: install Debian's {package} (scripts/install-deps.sh test)")
    return path


def subcommands(*command):
    """The subcommands `errand COMMAND --help` lists."""
    out = run(env("ERRAND_BIN"), *command, "--help").stdout
    names, listing = [], False
    for line in out.splitlines():
        if line.strip() == "Subcommands:":
            listing = True
        elif listing and re.match(r"^  \S", line):
            names.append(line.split()[0])
        elif listing and line and not line.startswith(" "):
            listing = False
    return names


def every_command():
    """Every command line of errand: "enqueue", "queue get", "queue key set"…"""
    out, todo = [], [[name] for name in subcommands()]
    while todo:
        words = todo.pop(0)
        out.append(" ".join(words))
        todo += [words + [name] for name in subcommands(*words)]
    return out


def man_text(path):
    """The page as man shows it, plain (groff), and groff's warnings."""
    r = run(need("groff", "groff-base"), "-man", "-Tutf8", "-ww", "-P-cbou", path)
    text = r.stdout.replace("\u2212", "-").replace("\u2010", "-")
    return re.sub(r"\s+", " ", text), r.stderr


def unit_for(binary, directory):
    """deploy/errand.service with ExecStart's binary replaced by `binary`,
    written to `directory` (systemd-analyze verify wants it to exist)."""
    with open(UNIT) as f:
        text = f.read()
    path = os.path.join(directory, "errand.service")
    with open(path, "w") as f:
        f.write(text.replace("/usr/bin/errand", binary))
    return path


def verify_unit(testcase, path, man_dir):
    # Documentation=man:errand(1): systemd-analyze runs man, which finds the
    # page in man_dir (MANPATH).
    analyze = need("systemd-analyze", "systemd")
    r = run(analyze, "verify", path, check=False, cwd=os.path.dirname(path),
            env=dict(os.environ, MANPATH=man_dir, SYSTEMD_LOG_COLOR="0"))
    testcase.assertEqual(r.returncode, 0, r.stdout + r.stderr)
    # Unknown keys and values systemd cannot parse are warnings only.
    testcase.assertEqual((r.stdout + r.stderr).strip(), "", "systemd-analyze verify warned")


def man_dir_with(page, directory):
    os.makedirs(os.path.join(directory, "man1"), exist_ok=True)
    shutil.copy(page, os.path.join(directory, "man1", "errand.1"))
    return directory


class TempDirCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="errand-install-")
        self.addCleanup(shutil.rmtree, self.tmp, True)


class SystemdUnitTest(TempDirCase):

    def test_the_unit_verifies_with_the_binary_in_place(self):
        man = man_dir_with(MAN, os.path.join(self.tmp, "man"))
        verify_unit(self, unit_for(os.path.abspath(env("ERRAND_BIN")), self.tmp), man)

    def test_the_unit_runs_errand_confined(self):
        with open(UNIT) as f:
            unit = f.read()
        exec_start = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1).split()
        self.assertEqual(exec_start[:2], ["/usr/bin/errand", "server"])
        self.assertEqual(exec_start[exec_start.index("--data") + 1], "/var/lib/errand")
        self.assertEqual(exec_start[exec_start.index("--config") + 1], "/etc/errand/errand.toml")
        for line in ("DynamicUser=yes", "StateDirectory=errand", "ProtectSystem=strict",
                     "NoNewPrivileges=yes", "Restart=on-failure", "ProtectHome=yes", "PrivateTmp=yes",
                     "CapabilityBoundingSet=", "WantedBy=multi-user.target"):
            self.assertRegex(unit, rf"(?m)^{re.escape(line)}$")
        # systemd's own score of what the service could still do (0 best, 10 worst).
        path = unit_for("/bin/true", self.tmp)
        r = run(need("systemd-analyze", "systemd"), "security", "--offline=yes", "--threshold=20", path,
                check=False, env=dict(os.environ, SYSTEMD_COLORS="0"))
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)
        self.assertRegex(r.stdout, r"Overall exposure level for errand.service: [01]\.\d")


class ManPageTest(TempDirCase):

    def test_the_page_renders_without_warnings_and_names_every_command(self):
        text, warnings = man_text(MAN)
        self.assertEqual(warnings, "")
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "ENVIRONMENT", "FILES", "EXIT STATUS",
                        "SEE ALSO"):
            self.assertIn(section, text)
        commands = every_command()
        self.assertIn("backup", commands)
        self.assertIn("queue key set", commands)
        missing = [c for c in commands if f"errand {c}" not in text]
        self.assertEqual(missing, [], "commands errand --help lists that the man page does not name")

    def test_man_shows_it(self):
        man = need("man", "man-db")
        r = run(man, "-l", MAN, env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING=""))
        self.assertIn("errand backup", r.stdout.replace("\u2010", "-").replace("\u2212", "-"))

    def test_the_build_compresses_the_page(self):
        with gzip.open(os.path.join(env("ERRAND_BUILD_DIR"), "errand.1.gz"), "rt") as built, open(MAN) as source:
            self.assertEqual(built.read(), source.read())


class CmakeInstallTest(TempDirCase):

    def test_install_to_a_prefix(self):
        prefix = os.path.join(self.tmp, "prefix")
        run(env("ERRAND_CMAKE"), "--install", env("ERRAND_BUILD_DIR"), "--prefix", prefix, "--component", "server")
        files = sorted(os.path.relpath(os.path.join(d, f), prefix) for d, _, fs in os.walk(prefix) for f in fs)
        self.assertEqual(files, ["bin/errand", "etc/errand/errand.toml", "lib/systemd/system/errand.service",
                                 "share/man/man1/errand.1.gz"])
        with open(os.path.join(prefix, "lib/systemd/system/errand.service")) as f:
            unit = f.read()
        self.assertIn(f"ExecStart={prefix}/bin/errand server --listen 127.0.0.1:8740 --data /var/lib/errand "
                      f"--config {prefix}/etc/errand/errand.toml", unit)
        self.assertIn("EnvironmentFile=-/etc/default/errand", unit)
        man = man_dir_with(MAN, os.path.join(self.tmp, "man"))
        verify_unit(self, os.path.join(prefix, "lib/systemd/system/errand.service"), man)

    def test_the_example_configuration_starts_a_server(self):
        data = os.path.join(self.tmp, "data")
        with ErrandServer(data_dir=data, extra_args=["--config", CONFIG]) as server:
            self.assertEqual(server.request("GET", "/healthz").status, 200)
            self.assertIn(f"--config {CONFIG}", server.log_text())


class DebPackageTest(TempDirCase):

    def test_the_deb_holds_the_service_and_its_errand_runs(self):
        need("dpkg-deb", "dpkg")
        need("dpkg-shlibdeps", "dpkg-dev")
        build = env("ERRAND_BUILD_DIR")
        out = os.path.join(self.tmp, "out")
        run(env("ERRAND_CPACK"), "-G", "DEB", "--config", os.path.join(build, "CPackConfig.cmake"), "-B", out)
        debs = [f for f in os.listdir(out) if f.endswith(".deb")]
        self.assertEqual(len(debs), 1, os.listdir(out))
        self.assertRegex(debs[0], r"^errand_\d+\.\d+\.\d+_[a-z0-9]+\.deb$")
        deb = os.path.join(out, debs[0])

        listing = run("dpkg-deb", "-c", deb).stdout
        paths = {line.split()[-1] for line in listing.splitlines() if not line.startswith("d")}
        self.assertEqual(paths, {"./usr/bin/errand", "./usr/lib/systemd/system/errand.service",
                                 "./usr/share/man/man1/errand.1.gz", "./etc/errand/errand.toml"})
        self.assertRegex(listing, r"-rwxr-xr-x root/root .* \./usr/bin/errand")

        fields = run("dpkg-deb", "-f", deb, "Package", "Version", "Depends", "Section").stdout
        self.assertIn("Package: errand", fields)
        self.assertRegex(fields, r"Depends: .*libsqlite3-0")
        control = os.path.join(self.tmp, "control")
        run("dpkg-deb", "-e", deb, control)
        with open(os.path.join(control, "conffiles")) as f:
            self.assertEqual(f.read().split(), ["/etc/errand/errand.toml"])
        for script in ("postinst", "prerm", "postrm"):
            self.assertTrue(os.access(os.path.join(control, script), os.X_OK), script)

        root = os.path.join(self.tmp, "root")
        run("dpkg", "-x", deb, root)
        errand = os.path.join(root, "usr/bin/errand")
        version = run(errand, "--version").stdout.strip()
        self.assertRegex(version, r"^errand \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)$")
        head = run("git", "-C", SOURCE, "rev-parse", "--short=12", "HEAD", check=False)
        if head.returncode == 0:
            self.assertIn(f"(commit {head.stdout.strip()}", version)
        self.assertEqual(version, run(env("ERRAND_BIN"), "--version").stdout.strip())

        # What the package installs, verified in place (the binary and the
        # page from the package).
        with open(os.path.join(root, "usr/lib/systemd/system/errand.service")) as f:
            unit = f.read()
        with open(UNIT) as f:
            self.assertEqual(unit, f.read())
        man = os.path.join(self.tmp, "man")
        os.makedirs(os.path.join(man, "man1"))
        shutil.copy(os.path.join(root, "usr/share/man/man1/errand.1.gz"), os.path.join(man, "man1"))
        verify_unit(self, unit_for(errand, self.tmp), man)
        with open(os.path.join(root, "etc/errand/errand.toml")) as f, open(CONFIG) as source:
            self.assertEqual(f.read(), source.read())


if __name__ == "__main__":
    unittest.main()
