#!/usr/bin/env bash
# Deploy one image digest to one environment with Helm; roll back when it does not become healthy.
#   scripts/deploy.sh <staging|production> sha256:<digest>
# Environment: NAMESPACE and RELEASE (default {{ cookiecutter.project_slug }}), IMAGE (repository,
# default: the chart's), HELM_TIMEOUT (default 10m), ROLLOUT_TIMEOUT seconds (default 1800),
# PROMOTE (canary only: "full" skips the steps once healthy, "steps" walks them; default steps).
# Values: deploy/values-<environment>.yaml is added when it exists.
set -euo pipefail
# shellcheck source=scripts/image-digest.sh
source "$(dirname "${BASH_SOURCE[0]}")/image-digest.sh"

environment="${1:?usage: scripts/deploy.sh <staging|production> sha256:<digest>}"
digest="${2:?usage: scripts/deploy.sh <staging|production> sha256:<digest>}"
case "$environment" in staging | production) ;; *)
  echo "error: unknown environment: $environment" >&2
  exit 2
  ;;
esac
require_digest "$digest"

release="${RELEASE:-{{ cookiecutter.project_slug }}}"
namespace="${NAMESPACE:-{{ cookiecutter.project_slug }}}"
chart="deploy/helm/{{ cookiecutter.project_slug }}"
args=(--namespace "$namespace" --set-string "image.digest=${digest}")
[[ -n "${IMAGE:-}" ]] && args+=(--set-string "image.repository=${IMAGE}")
[[ -f "deploy/values-${environment}.yaml" ]] && args+=(--values "deploy/values-${environment}.yaml")

# --atomic: if the migration hook or any resource Helm waits for fails, Helm rolls the release
# back to the previous revision (or uninstalls a first install) and exits non-zero.
helm upgrade --install "$release" "$chart" "${args[@]}" \
  --atomic --wait --timeout "${HELM_TIMEOUT:-10m}" --history-max 10
{%- if cookiecutter.rollout == "canary" %}

# Helm does not wait for an Argo Rollouts canary: follow it here. The Rollout's analysis aborts
# a bad canary (phase Degraded); then the release is rolled back and the deploy fails.
rollout="$(kubectl get rollouts.argoproj.io --namespace "$namespace" \
  --selector "app.kubernetes.io/instance=${release},app.kubernetes.io/component=api" \
  --output name)"
rollback() {
  echo "error: canary $1; aborting and rolling back" >&2
  kubectl patch "$rollout" --namespace "$namespace" --subresource status --type merge \
    --patch '{"status":{"abort":true}}' || true
  helm rollback "$release" --namespace "$namespace" --wait --timeout "${HELM_TIMEOUT:-10m}"
  exit 1
}
promote() {
  # What `kubectl argo rollouts promote [--full]` does, without the plugin binary.
  local status='{"status":{"pauseConditions":null}}'
  [[ "$1" == full ]] && status='{"status":{"promoteFull":true}}'
  kubectl patch "$rollout" --namespace "$namespace" --subresource status --type merge \
    --patch "$status"
  kubectl patch "$rollout" --namespace "$namespace" --type merge --patch '{"spec":{"paused":false}}'
}
[[ "${PROMOTE:-steps}" == full ]] && promote full
deadline=$((SECONDS + ${ROLLOUT_TIMEOUT:-1800}))
while ((SECONDS < deadline)); do
  phase="$(kubectl get "$rollout" --namespace "$namespace" --output 'jsonpath={.status.phase}')"
  case "$phase" in
    Healthy)
      echo "canary promoted: $rollout is Healthy"
      exit 0
      ;;
    Degraded) rollback "degraded (analysis failed or pods unhealthy)" ;;
    Paused)
      # Timed pauses resume by themselves; a pause without a duration waits for a promotion,
      # which this job gives: the environment's reviewers approved the deploy already.
      step="$(kubectl get "$rollout" --namespace "$namespace" \
        --output 'jsonpath={.status.currentStepIndex}')"
      duration="$(kubectl get "$rollout" --namespace "$namespace" \
        --output "jsonpath={.spec.strategy.canary.steps[${step:-0}].pause.duration}")"
      if [[ -z "$duration" ]]; then
        echo "canary paused at step ${step:-0} with no duration: promoting"
        promote step
      fi
      ;;
  esac
  sleep 10
done
rollback "not healthy within ${ROLLOUT_TIMEOUT:-1800} s"
{%- else %}
echo "deployed ${release} (${digest}) to ${environment}"
{%- endif %}
