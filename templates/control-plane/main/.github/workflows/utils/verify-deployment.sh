#!/usr/bin/env bash
# Post-deployment checks for one environment (run by check-promote.yaml).
#
#  1. COMMIT_ID exists in the gitops repository and is contained in its ENVIRONMENT branch, so
#     the manifests being checked are the ones the clusters reconcile from that branch.
#  2. When PROMOTED_COMMIT_ID is set, that gitops commit records this very commit of main
#     (.github/tracking/Promoted_Commit_Id, written by the Kalypso Scheduler), so what is promoted
#     further is what was deployed here.
#
# Add checks of your own below (smoke tests against the clusters, ...); any failure stops the
# promotion and marks the promoted commit as failed.
#
# Environment: GH_TOKEN (the GITOPS_REPO_TOKEN secret), GITOPS_REPO (the GITOPS_REPO secret,
#              owner/name), ENVIRONMENT, COMMIT_ID, optional PROMOTED_COMMIT_ID
set -euo pipefail
# gh calls the GitHub this runs on: github.com, or an Enterprise Server, where gh reads
# its token from GH_ENTERPRISE_TOKEN (GH_TOKEN is for github.com only).
server="${GITHUB_SERVER_URL:-https://github.com}"
export GH_HOST="${server#*://}" GH_ENTERPRISE_TOKEN="${GH_TOKEN:-}"

: "${GITOPS_REPO:?the GITOPS_REPO secret (owner/name of the gitops repository) is not set}"
: "${GH_TOKEN:?the GITOPS_REPO_TOKEN secret (a token that can read the gitops repository) is not set}"
: "${ENVIRONMENT:?ENVIRONMENT is not set}"
: "${COMMIT_ID:?COMMIT_ID is not set}"
promoted="${PROMOTED_COMMIT_ID:-}"

fail() {
  echo "::error::$1" >&2
  exit 1
}

[[ "$GITOPS_REPO" =~ ^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$ ]] || fail "the GITOPS_REPO secret must be owner/name"
[[ "$ENVIRONMENT" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || fail "environment '$ENVIRONMENT' is not an environment branch name"
[[ "$COMMIT_ID" =~ ^[0-9a-f]{40}$ ]] || fail "commit_id must be a full 40-character commit id; got '$COMMIT_ID'"
[[ -z "$promoted" || "$promoted" =~ ^[0-9a-f]{40}$ ]] || fail "promoted_commit_id must be a full 40-character commit id; got '$promoted'"

if ! relation=$(gh api "repos/$GITOPS_REPO/compare/$COMMIT_ID...$ENVIRONMENT" --jq .status); then
  fail "could not compare $COMMIT_ID with the $ENVIRONMENT branch of $GITOPS_REPO"
fi
case "$relation" in
  identical | ahead) echo "$COMMIT_ID is on the $ENVIRONMENT branch of $GITOPS_REPO." ;;
  *) fail "$COMMIT_ID is not on the $ENVIRONMENT branch of $GITOPS_REPO (it is $relation)" ;;
esac

if [[ -n "$promoted" ]]; then
  if ! recorded=$(gh api -H "Accept: application/vnd.github.raw" \
    "repos/$GITOPS_REPO/contents/.github/tracking/Promoted_Commit_Id?ref=$COMMIT_ID"); then
    fail "$COMMIT_ID in $GITOPS_REPO records no promoted commit (.github/tracking/Promoted_Commit_Id)"
  fi
  recorded="$(echo "$recorded" | tr -d '[:space:]')"
  [[ "$recorded" == "$promoted" ]] ||
    fail "$COMMIT_ID in $GITOPS_REPO carries $recorded, not the promoted commit $promoted"
  echo "$COMMIT_ID carries the promoted commit $promoted."
fi

echo "Post-deployment checks for $ENVIRONMENT passed."
