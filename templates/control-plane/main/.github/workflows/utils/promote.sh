#!/usr/bin/env bash
# Pins a commit of main in an environment branch (run by cd.yaml from a checkout of main).
#
# Checks that PROMOTED_COMMIT_ID is a commit of main, writes base-repo.yaml (a Kalypso BaseRepo
# pointing at main at that commit) into the checked-out environment branch, then commits and
# pushes it with plain git. Kalypso then delivers main at exactly that commit to the environment.
#
# Usage: promote.sh ENVIRONMENT_BRANCH_CHECKOUT
# Environment: ENVIRONMENT, PROMOTED_COMMIT_ID, CONTROL_PLANE_URL
set -euo pipefail

checkout="${1:?usage: promote.sh ENVIRONMENT_BRANCH_CHECKOUT}"
: "${ENVIRONMENT:?ENVIRONMENT is not set}"
: "${PROMOTED_COMMIT_ID:?PROMOTED_COMMIT_ID is not set}"
: "${CONTROL_PLANE_URL:?CONTROL_PLANE_URL is not set}"

if [[ ! "$ENVIRONMENT" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ || "$ENVIRONMENT" == main ]]; then
  echo "::error::environment must name an environment branch (lowercase letters, digits and '-', not main); got '$ENVIRONMENT'" >&2
  exit 1
fi
if [[ ! "$PROMOTED_COMMIT_ID" =~ ^[0-9a-f]{40}$ ]]; then
  echo "::error::promoted_commit_id must be a full 40-character commit id; got '$PROMOTED_COMMIT_ID'" >&2
  exit 1
fi
if ! git merge-base --is-ancestor "$PROMOTED_COMMIT_ID" HEAD 2>/dev/null; then
  echo "::error::$PROMOTED_COMMIT_ID is not a commit of main" >&2
  exit 1
fi

cat > "$checkout/base-repo.yaml" <<YAML
# Delivers the main branch of this repository into the $ENVIRONMENT environment, pinned by the cd
# workflow at the commit promoted to $ENVIRONMENT.
apiVersion: scheduler.kalypso.io/v1alpha1
kind: BaseRepo
metadata:
  name: main
spec:
  repo: "$CONTROL_PLANE_URL"
  branch: main
  path: .
  commit: "$PROMOTED_COMMIT_ID"
YAML

cd "$checkout"
git add base-repo.yaml
if git diff --cached --quiet; then
  echo "The $ENVIRONMENT branch already pins $PROMOTED_COMMIT_ID; nothing to push."
  exit 0
fi
git -c user.name="github-actions[bot]" \
  -c user.email="41898282+github-actions[bot]@users.noreply.github.com" \
  commit --quiet -m "Promote $PROMOTED_COMMIT_ID to $ENVIRONMENT"
git push --quiet origin "HEAD:refs/heads/$ENVIRONMENT"
echo "Pinned $PROMOTED_COMMIT_ID in the $ENVIRONMENT branch."
