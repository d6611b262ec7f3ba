#!/usr/bin/env bash
# Sourced by .ci/test.sh and .ci/demo.sh: a .venv with triage and its dev tools, installed
# again only when pyproject.toml changed. Expects `say` and the repository as the cwd.

if [ ! -x .venv/bin/python ] && ! python3 -c 'import ensurepip' 2>/dev/null; then
    # Debian's python3 makes virtual environments only with python3-venv.
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        say "apt-get install python3-venv"
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
    else
        say "python3 cannot make a virtual environment: install python3-venv (apt) first"
        exit 1
    fi
fi
if [ ! -x .venv/bin/python ]; then
    say "creating .venv (python3 -m venv .venv)"
    python3 -m venv .venv
fi

# Reinstall only when pyproject.toml changed since the last install into this .venv.
stamp=.venv/.triage-installed
wanted=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
    say "installing triage with its dev tools: pip install -e '.[dev]'"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
    echo "$wanted" >"$stamp"
else
    say ".venv is up to date with pyproject.toml"
fi


# mypy cannot follow the editable install's import hook (package-dir maps triage.core to
# core/ and so on): it reads the package through links under .venv/mypy/triage/.
mkdir -p .venv/mypy/triage
for folder in core tui storage sandbox; do
    ln -sfn "../../../$folder" ".venv/mypy/triage/$folder"
done
