"""A fresh install works with the pip the Python ships (no upgrade, no lock).

A newcomer's ``python3 -m venv v && v/bin/pip install .`` must give a pipeline that
imports: justext (under trafilatura) needs ``lxml.html.clean``, which an old pip did not
pull in through the ``lxml[html_clean]`` extra; every distribution the code imports is
now declared directly. This test builds that venv for real (it needs the package index,
or pip's cache) and imports every module of the installed package, not the source tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.install

_IMPORT_ALL = """
import importlib, pkgutil, monitor
assert "site-packages" in monitor.__file__, monitor.__file__
names = [m.name for m in pkgutil.walk_packages(monitor.__path__, "monitor.")]
skipped = {"monitor.migrations.env"}  # Alembic's entry script: runs only under alembic
for name in names:
    if name not in skipped:
        importlib.import_module(name)
from monitor.config import DEFAULT_QUERIES_DIR
assert (DEFAULT_QUERIES_DIR / "search.sql").is_file(), DEFAULT_QUERIES_DIR  # monitor search
print(len(names))
"""


def _base_python() -> str:
    """The interpreter behind the test's venv, so the new venv gets its bundled pip."""
    return getattr(sys, "_base_executable", sys.executable)


def test_pip_install_into_a_bare_venv_imports_every_module(tmp_path: Path) -> None:
    venv = tmp_path / "v"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([_base_python(), "-m", "venv", str(venv)], check=True, env=env)
    py, pip = venv / "bin" / "python", venv / "bin" / "pip"

    shipped = subprocess.run(
        [str(py), "-c", "import ensurepip; print(ensurepip.version())"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.strip()
    version = subprocess.run(
        [str(pip), "--version"], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert version.startswith(f"pip {shipped} "), version  # the pip Python ships, untouched

    install = subprocess.run(
        [str(pip), "install", "--quiet", str(ROOT)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-3000:]

    imported = subprocess.run(
        [str(py), "-c", _IMPORT_ALL], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert imported.returncode == 0, imported.stderr[-3000:]
    assert int(imported.stdout.strip()) >= 30  # every module of the package was walked

    helped = subprocess.run(
        [str(venv / "bin" / "monitor"), "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert helped.returncode == 0, helped.stderr[-3000:]
    assert "run" in helped.stdout and "init" in helped.stdout


def test_lock_pins_every_dependency_with_hashes() -> None:
    """make, CI and the Dockerfile install from requirements.lock with --require-hashes:
    every distribution the project declares is in it, pinned and hashed."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pinned: dict[str, str] = {}
    block: list[str] = []
    for line in lock.splitlines():
        if line and not line.startswith((" ", "#")):
            block = [line]
            name = line.partition("==")[0].partition("[")[0]
            pinned[canonicalize_name(name.strip())] = line
        elif block and "--hash=sha256:" in line:
            block.append(line)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [Requirement(r) for r in project["dependencies"]]
    for extra in ("postgres", "airflow", "dev"):
        declared += [
            Requirement(r)
            for r in project["optional-dependencies"][extra]
            if not r.startswith("monitor")
        ]
    missing = [r.name for r in declared if canonicalize_name(r.name) not in pinned]
    assert missing == []
    for req in declared:
        version = pinned[canonicalize_name(req.name)].split("==")[1].split()[0]
        assert req.specifier.contains(version, prereleases=True), (req, version)
    assert lock.count("--hash=sha256:") >= len(pinned)
    assert "apache-airflow==3.3.2" in lock
