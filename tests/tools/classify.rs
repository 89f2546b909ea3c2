//! Error classification over the real tools' messages: each sample is what az, gh, kubectl,
//! helm or git print (several captured from the pinned CLIs run offline, the others as the
//! services word them), with the exit code the tool uses.

use std::time::Duration;

use kalypso_bootstrap::tools::classify::rate_limit_reset;
use kalypso_bootstrap::tools::{classify, ErrorClass, RateLimitReset, ToolKind};
use time::macros::datetime;

use ToolKind::{Az, Gh, Git, Helm, Kubectl};

fn class(tool: ToolKind, exit: i32, stderr: &str) -> ErrorClass {
    classify(tool, Some(exit), stderr, "")
}

fn assert_class(expected: ErrorClass, samples: &[(ToolKind, i32, &str)]) {
    for (tool, exit, stderr) in samples {
        assert_eq!(
            class(*tool, *exit, stderr),
            expected,
            "{tool:?} exit {exit}: {stderr}"
        );
    }
}

#[test]
fn usage_errors() {
    assert_class(
        ErrorClass::Usage,
        &[
            (Az, 2, "ERROR: unrecognized arguments: --bogus\n\nExamples from AI knowledge base:\nhttps://aka.ms/cli_ref\nRead more about the command in reference docs\n"),
            (Az, 2, "ERROR: the following arguments are required: --name/-n\n"),
            (Az, 2, "ERROR: argument --network-plugin: invalid choice: 'cilium' (choose from 'azure', 'kubenet', 'none')\n"),
            // Captured from az 2.91 (tests/tools/contract_cli.rs runs it for real).
            (Az, 2, "ERROR: az aks create: 'cilium' is not a valid value for '--network-plugin'. Allowed values: kubenet, azure, none.\n\nhttps://aka.ms/cli_ref\nRead more about the command in reference docs\n"),
            (Az, 2, "ERROR: argument --node-count/-c: invalid int value: 'abc'\n"),
            (Az, 2, "ERROR: 'creat' is misspelled or not recognized by the system.\n"),
            (Gh, 1, "unknown flag: --bogus\n\nUsage:  gh repo view [<repository>] [flags]\n"),
            (Gh, 1, "accepts at most 1 arg(s), received 2\n"),
            (Kubectl, 1, "error: unknown flag: --bogus\nSee 'kubectl get --help' for usage.\n"),
            (Kubectl, 1, "error: unknown command \"gett\" for \"kubectl\"\n"),
            (Helm, 1, "Error: unknown flag: --bogus\n"),
            (Helm, 1, "Error: \"helm status\" requires 1 argument\n\nUsage:  helm status RELEASE_NAME [flags]\n"),
            (Helm, 1, "Error: unknown shorthand flag: 'o' in -o\n"),
            (Git, 129, "error: unknown option `bogus'\nusage: git push [<options>] [<repository> [<refspec>...]]\n"),
        ],
    );
    // az's exit code 2 alone is not a usage error (its "not found" is 3, errors are 1).
    assert_ne!(
        class(Az, 1, "ERROR: Please run 'az login' to setup account.\n"),
        ErrorClass::Usage
    );
}

#[test]
fn not_authenticated() {
    assert_class(
        ErrorClass::NotAuthenticated,
        &[
            (Az, 1, "ERROR: Please run 'az login' to setup account.\n"),
            (Az, 1, "ERROR: AADSTS700082: The refresh token has expired due to inactivity. The token was issued on 2024-01-01T00:00:00Z and was inactive for 90.00:00:00.\nInteractive authentication is needed. Please run:\naz login --scope https://management.core.windows.net//.default\n"),
            (Gh, 1, "HTTP 401: Bad credentials (https://api.github.com/user)\nTry authenticating with:  gh auth login\n"),
            (Gh, 4, "To get started with GitHub CLI, please run:  gh auth login\nAlternatively, populate the GH_TOKEN environment variable with a GitHub API authentication token.\n"),
            (Gh, 1, "no oauth token found for github.com\n"),
            (Kubectl, 1, "error: You must be logged in to the server (Unauthorized)\n"),
            (Kubectl, 1, "error: the server has asked for the client to provide credentials\n"),
            (Git, 128, "fatal: could not read Username for 'https://github.com': terminal prompts disabled\n"),
        ],
    );
}

#[test]
fn permission_denied_names_the_missing_scope_when_given() {
    assert_class(
        ErrorClass::PermissionDenied { missing_scope: None },
        &[
            (Az, 1, "ERROR: (AuthorizationFailed) The client 'dev@contoso.com' with object id '0000' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourcegroups/write' over scope '/subscriptions/x/resourcegroups/rg' or the scope is invalid. If access was recently granted, please refresh your credentials.\n"),
            (Gh, 1, "GraphQL: Resource not accessible by personal access token (createRepository)\n"),
            (Gh, 1, "GraphQL: dev does not have the correct permissions to execute `CreateRepository` (createRepository)\n"),
            (Kubectl, 1, "Error from server (Forbidden): nodes is forbidden: User \"dev@contoso.com\" cannot list resource \"nodes\" in API group \"\" at the cluster scope\n"),
            (Git, 128, "remote: Permission to contoso/gitops.git denied to dev.\nfatal: unable to access 'https://github.com/contoso/gitops.git/': The requested URL returned error: 403\n"),
        ],
    );
    assert_eq!(
        class(
            Gh,
            1,
            "gh: You must have the read:org scope to view organization memberships. (HTTP 403)\n",
        ),
        ErrorClass::PermissionDenied {
            missing_scope: Some("read:org".to_string())
        }
    );
    assert_eq!(
        class(
            Gh,
            1,
            "HTTP 403: Must have admin rights to Repository. (https://api.github.com/repos/contoso/gitops)\nThis API operation needs the \"delete_repo\" scope. To request it, run:  gh auth refresh -h github.com -s delete_repo\n",
        ),
        ErrorClass::PermissionDenied {
            missing_scope: Some("delete_repo".to_string())
        }
    );
}

#[test]
fn quota_exceeded() {
    assert_class(
        ErrorClass::QuotaExceeded,
        &[
            (Az, 1, "ERROR: (ErrCode_InsufficientVCPUQuota) Insufficient regional vcpu quota left for location westeurope. left regional vcpu quota 4, requested quota 6.\n"),
            (Az, 1, "ERROR: (OperationNotAllowed) Operation could not be completed as it results in exceeding approved standardDSv2Family Cores quota. Additional details - Deployment Model: Resource Manager, Location: westeurope, Current Limit: 10, Current Usage: 8, Additional Required: 6, (Minimum) New Limit Required: 14.\n"),
            (Az, 1, "ERROR: (QuotaExceeded) Operation results in exceeding quota limits of Core. Maximum allowed: 10, Current in use: 10, Additional requested: 2.\n"),
        ],
    );
}

#[test]
fn rate_limits_carry_their_reset_time() {
    let github = class(
        Gh,
        1,
        "HTTP 403: API rate limit exceeded for user ID 1234567. (https://api.github.com/user)\nx-ratelimit-reset: 1767225600\n",
    );
    assert_eq!(
        github,
        ErrorClass::RateLimited {
            reset: Some(RateLimitReset::At(datetime!(2026-01-01 0:00 UTC)))
        }
    );
    assert_eq!(
        class(Gh, 1, "HTTP 403: You have exceeded a secondary rate limit. Please wait a few minutes before you try again.\n"),
        ErrorClass::RateLimited { reset: None }
    );
    assert_eq!(
        class(Gh, 1, "HTTP 429: Too Many Requests\nRetry-After: 60\n"),
        ErrorClass::RateLimited {
            reset: Some(RateLimitReset::After(Duration::from_secs(60)))
        }
    );
    assert_eq!(
        class(Az, 1, "ERROR: (TooManyRequests) The request is being throttled. Please retry after 17 seconds.\n"),
        ErrorClass::RateLimited {
            reset: Some(RateLimitReset::After(Duration::from_secs(17)))
        }
    );
    assert_eq!(
        rate_limit_reset("rate limit exceeded; resets at 2026-03-04T05:06:07Z"),
        Some(RateLimitReset::At(datetime!(2026-03-04 5:06:07 UTC)))
    );
    let reset = RateLimitReset::At(datetime!(2026-01-01 0:01 UTC));
    assert_eq!(
        reset.wait_from(datetime!(2026-01-01 0:00 UTC)),
        Duration::from_secs(60)
    );
    assert_eq!(
        reset.wait_from(datetime!(2026-01-01 0:05 UTC)),
        Duration::ZERO
    );
}

#[test]
fn not_found_and_already_exists() {
    assert_class(
        ErrorClass::NotFound,
        &[
            (Az, 3, "ERROR: (ResourceGroupNotFound) Resource group 'rg' could not be found.\nCode: ResourceGroupNotFound\n"),
            (Gh, 1, "GraphQL: Could not resolve to a Repository with the name 'contoso/gitops'. (repository)\n"),
            (Gh, 1, "gh: Not Found (HTTP 404)\n"),
            (Kubectl, 1, "Error from server (NotFound): namespaces \"kalypso-system\" not found\n"),
            (Helm, 1, "Error: release: not found\n"),
            (Helm, 1, "Error: chart \"kalypso-scheduler\" version \"9.9.9\" not found in https://microsoft.github.io/kalypso-scheduler repository\n"),
            (Git, 128, "remote: Repository not found.\nfatal: repository 'https://github.com/contoso/gitops.git/' not found\n"),
        ],
    );
    assert_class(
        ErrorClass::AlreadyExists,
        &[
            (
                Gh,
                1,
                "GraphQL: Name already exists on this account (createRepository)\n",
            ),
            (
                Kubectl,
                1,
                "Error from server (AlreadyExists): namespaces \"kalypso-system\" already exists\n",
            ),
            (
                Helm,
                1,
                "Error: INSTALLATION FAILED: cannot re-use a name that is still in use\n",
            ),
            // The branch is already on GitHub with commits we do not have.
            (
                Git,
                1,
                "To https://github.com/contoso/gitops.git\n ! [rejected]        main -> main (fetch first)\nerror: failed to push some refs to 'https://github.com/contoso/gitops.git'\nhint: Updates were rejected because the remote contains work that you do not\nhint: have locally.\n",
            ),
            (
                Git,
                1,
                "To https://github.com/contoso/gitops.git\n ! [rejected]        dev -> dev (non-fast-forward)\nerror: failed to push some refs to 'https://github.com/contoso/gitops.git'\n",
            ),
        ],
    );
}

#[test]
fn timeouts_transients_and_unreachable_endpoints_are_retryable() {
    assert_class(
        ErrorClass::Timeout,
        &[
            (
                Kubectl,
                1,
                "error: timed out waiting for the condition on deployments/helm-controller\n",
            ),
            (
                Helm,
                1,
                "Error: UPGRADE FAILED: context deadline exceeded\n",
            ),
            (
                Az,
                1,
                "ERROR: (OperationTimedOut) The operation timed out and will be retried.\n",
            ),
        ],
    );
    assert_class(
        ErrorClass::Transient,
        &[
            (Gh, 1, "HTTP 502: Server Error (https://api.github.com/repos/contoso/gitops)\n"),
            (Gh, 1, "HTTP 503: Service Unavailable\n"),
            (Az, 1, "ERROR: (InternalServerError) An internal server error occurred. Please try again later.\n"),
            (Kubectl, 1, "Error from server (InternalError): Internal error occurred: failed calling webhook \"vworkload.kb.io\"\n"),
            (Kubectl, 1, "Error from server (ServiceUnavailable): the server is currently unable to handle the request\n"),
        ],
    );
    // Captured from the pinned CLIs with the proxy and API server on closed local ports.
    assert_class(
        ErrorClass::Unreachable,
        &[
            (Gh, 1, "Post \"https://api.github.com/graphql\": proxyconnect tcp: dial tcp 127.0.0.1:9: connect: connection refused\n"),
            (Kubectl, 1, "The connection to the server 127.0.0.1:9 was refused - did you specify the right host or port?\n"),
            (Helm, 1, "Error: Kubernetes cluster unreachable: Get \"https://127.0.0.1:9/version\": dial tcp 127.0.0.1:9: connect: connection refused\n"),
            (Kubectl, 1, "Unable to connect to the server: dial tcp: lookup github.com on 10.255.255.53:53: no such host\n"),
            (Git, 128, "fatal: unable to access 'https://github.com/contoso/gitops.git/': Could not resolve host: github.com\n"),
        ],
    );
    for transient in [
        ErrorClass::Timeout,
        ErrorClass::Transient,
        ErrorClass::Unreachable,
        ErrorClass::RateLimited { reset: None },
    ] {
        assert!(transient.is_transient(), "{transient:?}");
    }
    for permanent in [
        ErrorClass::NotFound,
        ErrorClass::AlreadyExists,
        ErrorClass::NotAuthenticated,
        ErrorClass::PermissionDenied {
            missing_scope: None,
        },
        ErrorClass::QuotaExceeded,
        ErrorClass::Usage,
        ErrorClass::Other,
    ] {
        assert!(!permanent.is_transient(), "{permanent:?}");
    }
}

#[test]
fn unknown_messages_are_other_and_every_class_has_a_tool_specific_hint() {
    assert_eq!(
        class(Az, 1, "ERROR: something nobody anticipated\n"),
        ErrorClass::Other
    );
    assert!(ErrorClass::NotAuthenticated.hint(Az).contains("az login"));
    assert!(ErrorClass::NotAuthenticated
        .hint(Gh)
        .contains("gh auth login"));
    assert!(ErrorClass::NotAuthenticated
        .hint(Kubectl)
        .contains("az aks get-credentials"));
    assert!(ErrorClass::Unreachable.hint(Kubectl).contains("API server"));
    let classes = [
        ErrorClass::NotFound,
        ErrorClass::AlreadyExists,
        ErrorClass::NotAuthenticated,
        ErrorClass::PermissionDenied {
            missing_scope: None,
        },
        ErrorClass::QuotaExceeded,
        ErrorClass::RateLimited { reset: None },
        ErrorClass::Timeout,
        ErrorClass::Transient,
        ErrorClass::Unreachable,
        ErrorClass::Usage,
        ErrorClass::Other,
    ];
    let labels: std::collections::HashSet<_> = classes.iter().map(ErrorClass::label).collect();
    assert_eq!(labels.len(), classes.len(), "labels are distinct");
    for class in &classes {
        assert!(!class.hint(Az).is_empty());
    }
}

#[test]
fn tool_kind_is_read_from_the_program_path() {
    assert_eq!(ToolKind::from_program("/opt/kalypso-cli/bin/az"), Az);
    assert_eq!(ToolKind::from_program("kubectl"), Kubectl);
    assert_eq!(ToolKind::from_program("C:\\tools\\helm.exe"), Helm);
    assert_eq!(ToolKind::from_program("python3"), ToolKind::Other);
}
