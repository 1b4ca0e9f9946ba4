# Sourced by deploy.sh and verify-image.sh: both act on one image digest, never on a tag.
# shellcheck shell=bash

# Exit 2 with one line on stderr unless $1 is an image digest (sha256:<64 hex>).
require_digest() {
  if [[ ! "$1" =~ ^sha256:[0-9a-f]{64}$ ]]; then
    echo "error: not an image digest: $1" >&2
    exit 2
  fi
}
