"""Finding the tools and schemas the deployment tests use; every miss is a failure naming its fix."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
KUBERNETES_VERSION = "1.31.0"


def schemas_dir() -> Path:
    """The offline schemas, `<repo>/../shared/data/k8s-schemas` (WAVE_K8S_SCHEMAS overrides it)."""
    folder = Path(os.environ.get("WAVE_K8S_SCHEMAS") or ROOT.parent / "shared" / "data" / "k8s-schemas")
    if not (folder / f"v{KUBERNETES_VERSION}-standalone-strict").is_dir():
        pytest.fail(
            f"the Kubernetes schemas are missing: {folder} should hold v{KUBERNETES_VERSION}-standalone-strict/ and the "
            "CRD folders (see its README.md); set WAVE_K8S_SCHEMAS to use another folder"
        )
    return folder


def kubeconform() -> str:
    found = ROOT / ".wave" / "bin" / "kubeconform"
    if found.is_file():
        return str(found)
    if path := shutil.which("kubeconform"):
        return path
    pytest.fail("kubeconform is not installed: `make setup` installs it into .wave/bin (needs Go)")


def kustomize_build(folder: Path) -> subprocess.CompletedProcess[str]:
    """`kubectl kustomize FOLDER`, or `kustomize build FOLDER` where kubectl is missing."""
    if kubectl := shutil.which("kubectl"):
        argv = [kubectl, "kustomize", str(folder)]
    elif kustomize := shutil.which("kustomize") or _file(ROOT / ".wave" / "bin" / "kustomize"):
        argv = [kustomize, "build", str(folder)]
    else:
        pytest.fail("neither kubectl nor kustomize is installed: `make setup` installs kustomize into .wave/bin")
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def validate(manifests: str) -> subprocess.CompletedProcess[str]:
    """kubeconform, strict, against Kubernetes 1.31 and the CRDs' schemas, offline."""
    schemas = schemas_dir()
    argv = [
        kubeconform(), "-strict", "-summary", "-kubernetes-version", KUBERNETES_VERSION,
        "-schema-location", f"{schemas}/{{{{ .NormalizedKubernetesVersion }}}}-standalone{{{{ .StrictSuffix }}}}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
        "-schema-location", f"{schemas}/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json",
        "-",
    ]
    return subprocess.run(argv, input=manifests, capture_output=True, text=True, timeout=120)


def _file(path: Path) -> str | None:
    return str(path) if path.is_file() else None
