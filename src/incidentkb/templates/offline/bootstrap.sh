#!/bin/sh
# Copied into a wheelhouse by `nox -s wheelhouse` (src/incidentkb/templates/offline/bootstrap.sh). On a host
# without internet whose Python has torch but neither nox nor incidentkb's dependencies, from the repository's root:
#
#   sh WHEELHOUSE/bootstrap.sh [PYTHON]      PYTHON: the host's Python with torch (default: python3)
#
# It makes .venv-offline/ (INCIDENTKB_VENV overrides), which sees PYTHON's packages (torch and whatever else the
# host has) after its own, installs nox and incidentkb into it from this folder only (--no-index), and writes
# .venv-offline/bin/incidentkb-nox: nox with INCIDENTKB_WHEELHOUSE set to this folder and INCIDENTKB_HOST_PYTHON
# to PYTHON (so `torch=installed` means the host's torch). Then:
#
#   .venv-offline/bin/incidentkb-nox -s "regressions(torch=installed stack=4.51.3 gpus=1)"
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python=$(command -v "${1:-python3}") || { echo "bootstrap.sh: no Python '${1:-python3}'" >&2; exit 2; }
venv=${INCIDENTKB_VENV:-.venv-offline}

# The host's site-packages folders. Not `venv --system-site-packages`: the host's Python may itself be a virtual
# environment (the GPU machines' is /opt/torch/.venv), whose packages that option would not show.
site=$("$python" -c 'import os, sys; print("\n".join(p for p in sys.path if p.endswith(("site-packages", "dist-packages")) and os.path.isdir(p)))')
"$python" -m venv --clear --without-pip "$venv"
"$venv/bin/python" -c 'import sys, sysconfig; open(sysconfig.get_paths()["purelib"] + "/incidentkb-host.pth", "w").write(sys.argv[1] + "\n")' "$site"

# pip of the host's Python installs into the new environment (pip >= 22.3), which needs no pip of its own. The
# host's own packages count as installed: a host's PyYAML is used, a missing one comes from this folder.
"$python" -m pip --python "$venv/bin/python" --disable-pip-version-check install --quiet --no-index \
  --find-links "$here" nox incidentkb

venv_abs=$(cd "$venv" && pwd)
{
  echo '#!/bin/sh'
  echo "# nox for the matrix on this offline host; written by $here/bootstrap.sh"
  echo "export INCIDENTKB_WHEELHOUSE=\"\${INCIDENTKB_WHEELHOUSE:-$here}\""
  echo "export INCIDENTKB_HOST_PYTHON=\"\${INCIDENTKB_HOST_PYTHON:-$python}\""
  echo "exec \"$venv_abs/bin/python\" -m nox \"\$@\""
} >"$venv/bin/incidentkb-nox"
chmod +x "$venv/bin/incidentkb-nox"
echo "bootstrap.sh: $venv is ready (host Python $python, wheels from $here); next: $venv/bin/incidentkb-nox -s regressions"
