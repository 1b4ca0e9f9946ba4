#!/usr/bin/env bash
# Refuse to deploy an image this project's release pipeline did not sign (cosign, keyless).
#   scripts/verify-image.sh sha256:<digest>
# IMAGE, SIGNER_IDENTITY_REGEXP and SIGNER_OIDC_ISSUER default to GitHub Actions' release.yml;
# .gitlab-ci.yml sets them for GitLab's registry and OIDC issuer.
set -euo pipefail
# shellcheck source=scripts/image-digest.sh
source "$(dirname "${BASH_SOURCE[0]}")/image-digest.sh"

digest="${1:?usage: scripts/verify-image.sh sha256:<digest>}"
require_digest "$digest"
image="${IMAGE:-ghcr.io/{{ cookiecutter.github_owner | lower }}/{{ cookiecutter.project_slug }}}"
identity="${SIGNER_IDENTITY_REGEXP:-^https://github\.com/{{ cookiecutter.github_owner }}/{{ cookiecutter.project_slug }}/\.github/workflows/release\.yml@refs/heads/main$}"
issuer="${SIGNER_OIDC_ISSUER:-https://token.actions.githubusercontent.com}"

cosign verify --certificate-identity-regexp "$identity" --certificate-oidc-issuer "$issuer" \
  "${image}@${digest}" > /dev/null
echo "verified: ${image}@${digest} was signed by ${identity}"
