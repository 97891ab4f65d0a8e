"""The two ways to deploy cannot drift apart: the image (deploy/Dockerfile, run by
deploy/compose.yaml) and the processes (scripts/cluster.sh) start every role through the
same deploy/entrypoint.sh, and every setting they name is one the bot reads. (Images cannot
be built here; tests/test_cluster.py runs the process topology for real.) And every
setting is documented in the README."""

from __future__ import annotations

import importlib
import re
import subprocess
from pathlib import Path

import yaml

from bot.config import Settings
from web.channels import CHANNELS

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
ENTRYPOINT = (DEPLOY / "entrypoint.sh").read_text()
# Variables the entrypoint, `faqbot serve` or the cluster script read themselves.
PROCESS_VARIABLES = {"FAQBOT_ROLE", "FAQBOT_HOST", "FAQBOT_PORT", "FAQBOT_WORKERS",
                     "FAQBOT_UPSTREAMS", "FAQBOT_PROXY_PORT", "FAQBOT_PROXY_DIR",
                     "FAQBOT_PROXY_FAIL_SECONDS", "FAQBOT_STATE_DIR", "FAQBOT_DEFAULT_CORPUS"}


def _roles() -> set[str]:
    """The roles deploy/entrypoint.sh starts."""
    block = ENTRYPOINT[ENTRYPOINT.index('case "$role" in'):]
    return set(re.findall(r"^    ([a-z]+)\)", block, re.M)) - {"healthcheck", "prepare"}


def _settings_variables() -> set[str]:
    """The core's settings and every channel's (web.channels.CHANNELS), as variables."""
    fields = set(Settings.model_fields)
    for path in CHANNELS:
        fields |= set(importlib.import_module(path).Settings.model_fields)
    return {f"FAQBOT_{name.upper()}" for name in fields} | PROCESS_VARIABLES


def test_the_image_runs_every_role_through_the_entrypoint():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) >= 2  # multi-stage
    assert re.search(r'^ENTRYPOINT \["/opt/faqbot/deploy/entrypoint.sh"\]', dockerfile, re.M)
    assert re.search(r'^HEALTHCHECK .*\n\s+CMD \["/opt/faqbot/deploy/entrypoint.sh", '
                     r'"healthcheck"\]', dockerfile, re.M)
    user = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert user and user[-1] not in ("root", "0")  # runs unprivileged
    assert "entrypoint.sh prepare" in dockerfile  # the model's graphs inside the image
    assert "torch==2.13.0" in dockerfile  # never an unpinned torch (CUDA, GBs)
    assert _roles() == {"app", "worker", "proxy"}


def test_compose_names_only_roles_and_settings_that_exist():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    ours = {name: s for name, s in services.items() if s.get("image") == "faqbot:latest"}
    roles = {name: s["environment"]["FAQBOT_ROLE"] for name, s in ours.items()}
    assert sorted(roles.values()) == ["app", "proxy", "worker"] and set(roles.values()) <= _roles()
    assert {"postgres", "redis"} <= set(services)
    for name, service in ours.items():
        assert "command" not in service  # the role comes from FAQBOT_ROLE, via the entrypoint
        unknown = {k for k in service["environment"] if k.startswith("FAQBOT_")} - \
            _settings_variables()
        assert not unknown, f"{name} sets unknown settings {unknown}"
    app = services["app"]
    assert app["deploy"]["replicas"] >= 2 and app["environment"]["FAQBOT_WORKER"] == "off"
    assert app["environment"]["FAQBOT_BUILDS"] == "shared"
    assert services["worker"]["environment"]["FAQBOT_BUILDS"] == "shared"
    host, port = services["proxy"]["environment"]["FAQBOT_UPSTREAMS"].split(":")
    assert host == "app" and port == app["environment"]["FAQBOT_PORT"]


def test_the_cluster_script_starts_the_same_roles_through_the_same_entrypoint():
    script = (ROOT / "scripts" / "cluster.sh").read_text()
    assert 'entrypoint="$root/deploy/entrypoint.sh"' in script
    started = set(re.findall(r'"\$entrypoint" ([a-z]+)', script))
    assert started == _roles()
    named = set(re.findall(r"\b(FAQBOT_[A-Z_]+)=", script)) - {
        v for v in re.findall(r"\b(FAQBOT_CLUSTER_[A-Z_]+)", script)} - {"FAQBOT_PYTHON"}
    assert named <= _settings_variables(), named - _settings_variables()


def test_the_scripts_parse():
    for path, shell in ((DEPLOY / "entrypoint.sh", "sh"), (ROOT / "scripts" / "cluster.sh",
                                                           "bash")):
        done = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = sorted(v for v in _settings_variables() if v not in readme)
    assert not missing, f"not in the README: {missing}"


def test_a_non_editable_install_carries_every_file(tmp_path):
    """The image runs `pip install .`: a module, template or data file left out of
    pyproject's packages and package data would import from a source checkout
    (`pip install -e .`, as the tests run) and fail only in the image."""
    import shutil
    import sys
    import zipfile

    for name in ("pyproject.toml", "README.md", "faqbot", "bot", "web", "backoffice"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                            "--no-build-isolation", "--wheel-dir", str(tmp_path / "dist"),
                            str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("faqbot-*.whl")
    inside = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(["git", "ls-files", "faqbot", "bot", "web", "backoffice"],
                             cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    missing = sorted(f for f in tracked if f not in inside)
    assert tracked and not missing, f"not installed by pip install .: {missing}"
