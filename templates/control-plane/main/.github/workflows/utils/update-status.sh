#!/usr/bin/env bash
# Sets the commit status "kalypso/ENVIRONMENT" on the promoted commit of this repository, so the
# commit shows how far its promotion got (run by cd.yaml and check-promote.yaml).
#
# Usage: update-status.sh STATE DESCRIPTION   (STATE: pending, success, failure or error)
# Environment: GH_TOKEN, GITHUB_REPOSITORY, PROMOTED_COMMIT_ID, ENVIRONMENT;
#              GITHUB_SERVER_URL and GITHUB_RUN_ID, when set, link the status to the run.
set -euo pipefail
# gh calls the GitHub this runs on: github.com, or an Enterprise Server, where gh reads
# its token from GH_ENTERPRISE_TOKEN (GH_TOKEN is for github.com only).
server="${GITHUB_SERVER_URL:-https://github.com}"
export GH_HOST="${server#*://}" GH_ENTERPRISE_TOKEN="${GH_TOKEN:-}"

state="${1:?usage: update-status.sh STATE DESCRIPTION}"
description="${2:?usage: update-status.sh STATE DESCRIPTION}"
: "${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set}"
: "${PROMOTED_COMMIT_ID:?PROMOTED_COMMIT_ID is not set}"
: "${ENVIRONMENT:?ENVIRONMENT is not set}"

case "$state" in
  pending | success | failure | error) ;;
  *)
    echo "::error::commit status state must be pending, success, failure or error; got '$state'" >&2
    exit 1
    ;;
esac
if [[ ! "$PROMOTED_COMMIT_ID" =~ ^[0-9a-f]{40}$ ]]; then
  echo "::error::promoted_commit_id must be a full 40-character commit id; got '$PROMOTED_COMMIT_ID'" >&2
  exit 1
fi

fields=(-f state="$state" -f context="kalypso/$ENVIRONMENT" -f description="$description")
if [[ -n "${GITHUB_SERVER_URL:-}" && -n "${GITHUB_RUN_ID:-}" ]]; then
  fields+=(-f target_url="$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID")
fi
gh api --method POST "repos/$GITHUB_REPOSITORY/statuses/$PROMOTED_COMMIT_ID" "${fields[@]}" --silent
echo "kalypso/$ENVIRONMENT on $PROMOTED_COMMIT_ID: $state ($description)"
