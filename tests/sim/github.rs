//! The simulated GitHub: users, orgs and repositories through gh, and REAL git pushes that
//! land in the local bare repository standing in for https://github.com/OWNER/NAME.git.

use crate::support::sim::*;
use kalypso_bootstrap::sim::{SeedRepo, SimulatedEnvironment, TokenPolicy};
use kalypso_bootstrap::tools::{CommandRunner, CommandSpec};
use secrecy::{SecretSlice, SecretString};

#[tokio::test]
async fn api_user_and_org_memberships() {
    let (_dir, env) = standard();
    let user = ok_json(&env, gh_words(ALICE_TOKEN, "api user")).await;
    assert_eq!(user["login"], "alice");
    assert!(user["id"].as_u64().unwrap() > 0);
    assert_eq!(user["type"], "User");

    let membership = ok_json(&env, gh_words(BOB_TOKEN, "api user/memberships/orgs/acme")).await;
    assert_eq!(membership["state"], "active");
    assert_eq!(membership["role"], "member");
    let admin = ok_json(
        &env,
        gh_words(ALICE_TOKEN, "api user/memberships/orgs/acme"),
    )
    .await;
    assert_eq!(admin["role"], "admin");

    env.seed_github_org("other", &[]);
    let outsider = run(
        &env,
        gh_words(ALICE_TOKEN, "api user/memberships/orgs/other"),
    )
    .await;
    assert_eq!(outsider.exit_code, Some(1));
    assert_eq!(outsider.stderr.trim(), "gh: Not Found (HTTP 404)");
    let body: serde_json::Value = serde_json::from_str(&outsider.stdout).unwrap();
    assert_eq!(body["message"], "Not Found");
}

#[tokio::test]
async fn authentication_needs_a_token_or_a_stored_login() {
    let (_dir, env) = standard();
    let missing = run(&env, spec("gh", &["api", "user"])).await;
    assert_eq!(missing.exit_code, Some(4));
    assert!(missing.stderr.contains("gh auth login"));
    assert!(missing.stderr.contains("GH_TOKEN"));

    let bad = run(&env, gh("ghp_not_a_known_token", &["api", "user"])).await;
    assert_eq!(bad.exit_code, Some(1));
    assert!(
        bad.stderr.starts_with("HTTP 401: Bad credentials"),
        "{}",
        bad.stderr
    );

    // `gh auth token` prints the stored login's token; the adapter removes token variables.
    let none = run(
        &env,
        spec("gh", &["auth", "token", "--hostname", "github.com"]),
    )
    .await;
    assert_eq!(none.exit_code, Some(1));
    env.set_github_stored_login(Some("alice"));
    let token = ok(
        &env,
        spec("gh", &["auth", "token", "--hostname", "github.com"]).secret_stdout(),
    )
    .await;
    assert_eq!(token.trim(), ALICE_TOKEN);
    let user = ok_json(&env, spec("gh", &["api", "user"])).await;
    assert_eq!(user["login"], "alice");

    env.set_token_policy(TokenPolicy::AnyTokenIs("bob".into()));
    let any = ok_json(&env, gh("whatever-token", &["api", "user"])).await;
    assert_eq!(any["login"], "bob");
}

#[tokio::test]
async fn repo_view_of_a_missing_or_private_repository() {
    let (_dir, env) = standard();
    let missing = run(
        &env,
        gh_words(
            ALICE_TOKEN,
            "repo view acme/nope --json name,owner,url,isEmpty,visibility",
        ),
    )
    .await;
    assert_eq!(missing.exit_code, Some(1));
    assert_eq!(
        missing.stderr.trim(),
        "GraphQL: Could not resolve to a Repository with the name 'acme/nope'. (repository)"
    );

    env.seed_repo(SeedRepo::new("alice", "private-thing"))
        .unwrap();
    let hidden = run(
        &env,
        gh_words(BOB_TOKEN, "repo view alice/private-thing --json name"),
    )
    .await;
    assert_eq!(
        hidden.exit_code,
        Some(1),
        "bob cannot see alice's private repository"
    );
    let unknown_field = run(
        &env,
        gh_words(
            ALICE_TOKEN,
            "repo view alice/private-thing --json name,colour",
        ),
    )
    .await;
    assert_eq!(unknown_field.exit_code, Some(1));
    assert!(
        unknown_field
            .stderr
            .starts_with("Unknown JSON field: \"colour\"\nAvailable fields:"),
        "{}",
        unknown_field.stderr
    );
}

fn git(dir: &std::path::Path, args: &[&str]) -> CommandSpec {
    spec("git", args).cwd(dir)
}

async fn git_ok(env: &SimulatedEnvironment, dir: &std::path::Path, args: &[&str]) -> String {
    let out = run(
        env,
        git(dir, args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1"),
    )
    .await;
    assert_eq!(
        out.exit_code,
        Some(0),
        "git {}: {}",
        args.join(" "),
        out.stderr
    );
    out.stdout
}

#[tokio::test]
async fn repo_create_then_a_real_git_push_lands_in_the_bare_repository() {
    let (dir, env) = standard();
    let created = ok(
        &env,
        gh(
            ALICE_TOKEN,
            &[
                "repo",
                "create",
                "acme/kalypso-cp",
                "--private",
                "--description",
                "Kalypso control plane",
            ],
        ),
    )
    .await;
    assert_eq!(created.trim(), "https://github.com/acme/kalypso-cp");
    assert!(env
        .bare_repo_path("acme", "kalypso-cp")
        .join("HEAD")
        .is_file());
    let fields = "name,owner,url,isEmpty,visibility";
    let view = ok_json(
        &env,
        gh(
            ALICE_TOKEN,
            &["repo", "view", "acme/kalypso-cp", "--json", fields],
        ),
    )
    .await;
    assert_eq!(view["isEmpty"], true);
    assert_eq!(view["visibility"], "PRIVATE");
    assert_eq!(view["owner"]["login"], "acme");
    assert_eq!(view["url"], "https://github.com/acme/kalypso-cp");
    let keys: Vec<&String> = view.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["isEmpty", "name", "owner", "url", "visibility"],
        "exactly the requested fields"
    );
    let empty = run(
        &env,
        gh_words(
            ALICE_TOKEN,
            "api repos/acme/kalypso-cp/git/trees/main?recursive=1",
        ),
    )
    .await;
    assert_eq!(
        empty.stderr.trim(),
        "gh: Git Repository is empty. (HTTP 409)"
    );

    // Real git, run through the environment: the push to github.com lands in the bare repo.
    let work = dir.path().join("work");
    std::fs::create_dir_all(work.join(".environments/dev")).unwrap();
    std::fs::write(work.join("README.md"), "# control plane\n").unwrap();
    std::fs::write(
        work.join(".environments/dev/kustomization.yaml"),
        "resources: []\n",
    )
    .unwrap();
    git_ok(&env, &work, &["init", "-b", "main"]).await;
    git_ok(&env, &work, &["add", "-A"]).await;
    git_ok(
        &env,
        &work,
        &[
            "-c",
            "user.name=Kalypso Bootstrap",
            "-c",
            "user.email=kalypso-bootstrap@users.noreply.github.com",
            "commit",
            "-m",
            "Initial",
        ],
    )
    .await;
    // The caller's own GIT_CONFIG_* entries (credential helper reset, as the engine sets
    // them) are kept; the environment appends its insteadOf after them.
    let push = git(
        &work,
        &["push", "https://github.com/acme/kalypso-cp.git", "main"],
    )
    .env("GIT_CONFIG_GLOBAL", "/dev/null")
    .env("GIT_CONFIG_COUNT", "2")
    .env("GIT_CONFIG_KEY_0", "credential.https://github.com.helper")
    .env("GIT_CONFIG_VALUE_0", "")
    .env("GIT_CONFIG_KEY_1", "credential.https://github.com.helper")
    .env("GIT_CONFIG_VALUE_1", "!gh auth git-credential");
    let pushed = run(&env, push).await;
    assert_eq!(pushed.exit_code, Some(0), "{}", pushed.stderr);
    let remote = git_ok(
        &env,
        &work,
        &[
            "ls-remote",
            "--heads",
            "https://github.com/acme/kalypso-cp.git",
        ],
    )
    .await;
    assert!(remote.contains("refs/heads/main"), "{remote}");

    let view = ok_json(
        &env,
        gh(
            ALICE_TOKEN,
            &["repo", "view", "acme/kalypso-cp", "--json", fields],
        ),
    )
    .await;
    assert_eq!(view["isEmpty"], false);
    let tree = ok_json(
        &env,
        gh_words(
            ALICE_TOKEN,
            "api repos/acme/kalypso-cp/git/trees/main?recursive=1",
        ),
    )
    .await;
    assert_eq!(tree["truncated"], false);
    let entries: Vec<(String, String)> = tree["tree"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_string(),
                e["type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        (".environments", "tree"),
        (".environments/dev", "tree"),
        (".environments/dev/kustomization.yaml", "blob"),
        ("README.md", "blob"),
    ];
    assert_eq!(
        entries,
        expected.map(|(p, t)| (p.to_string(), t.to_string()))
    );
    let readme = tree["tree"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "README.md")
        .unwrap();
    assert_eq!(readme["mode"], "100644");
    assert_eq!(readme["size"], 16);
    let missing_branch = run(
        &env,
        gh_words(
            ALICE_TOKEN,
            "api repos/acme/kalypso-cp/git/trees/dev?recursive=1",
        ),
    )
    .await;
    assert_eq!(missing_branch.stderr.trim(), "gh: Not Found (HTTP 404)");

    let snapshot = env.snapshot();
    let repo = &snapshot.github.repos["acme/kalypso-cp"];
    assert_eq!(repo.heads.keys().collect::<Vec<_>>(), ["main"]);
    assert_eq!(repo.description, "Kalypso control plane");

    let again = run(
        &env,
        gh_words(ALICE_TOKEN, "repo create acme/kalypso-cp --private"),
    )
    .await;
    assert_eq!(again.exit_code, Some(1));
    assert_eq!(
        again.stderr.trim(),
        "GraphQL: Name already exists on this account (createRepository)"
    );
}

#[tokio::test]
async fn repo_create_checks_visibility_and_ownership() {
    let (_dir, env) = standard();
    let no_visibility = run(&env, gh_words(ALICE_TOKEN, "repo create acme/x")).await;
    assert_eq!(no_visibility.exit_code, Some(1));
    assert!(no_visibility.stderr.contains(
        "`--public`, `--private`, or `--internal` required when not running interactively"
    ));
    env.set_org_members_can_create_repositories("acme", false);
    let member = run(&env, gh_words(BOB_TOKEN, "repo create acme/x --private")).await;
    assert_eq!(member.exit_code, Some(1));
    assert!(
        member
            .stderr
            .contains("does not have the correct permissions to execute `CreateRepository`"),
        "{}",
        member.stderr
    );
    let stranger_org = run(
        &env,
        gh_words(ALICE_TOKEN, "repo create nobody-org/x --private"),
    )
    .await;
    assert_eq!(stranger_org.exit_code, Some(1));
    let own = ok(&env, gh_words(BOB_TOKEN, "repo create x --public")).await;
    assert_eq!(own.trim(), "https://github.com/bob/x");
}

#[tokio::test]
async fn secrets_are_read_from_stdin_and_their_values_never_kept_in_snapshots() {
    let (_dir, env) = standard();
    ok(
        &env,
        gh_words(ALICE_TOKEN, "repo create acme/gitops --private"),
    )
    .await;
    let canary = "CANARY-9b1f7c2d4e-secret-value";
    kalypso_bootstrap::secrets::register(canary);
    let set = gh_words(
        ALICE_TOKEN,
        "secret set CONTROL_PLANE_TOKEN --repo acme/gitops",
    )
    .secret_stdin(SecretSlice::from(canary.as_bytes().to_vec()));
    ok(&env, set).await;

    let listed = ok_json(
        &env,
        gh_words(ALICE_TOKEN, "secret list --repo acme/gitops --json name"),
    )
    .await;
    assert_eq!(listed, serde_json::json!([{"name": "CONTROL_PLANE_TOKEN"}]));
    assert!(env.github_secret_is("acme", "gitops", "CONTROL_PLANE_TOKEN", canary));
    assert!(!env.github_secret_is("acme", "gitops", "CONTROL_PLANE_TOKEN", "something else"));

    let snapshot = env.snapshot();
    assert!(snapshot.github.repos["acme/gitops"]
        .secrets
        .contains("CONTROL_PLANE_TOKEN"));
    let dump = serde_json::to_string(&snapshot).unwrap() + &format!("{snapshot:?}");
    assert!(!dump.contains(canary), "no secret value in the snapshot");
    for call in env.calls() {
        assert!(
            call.args.iter().all(|a| !a.contains(canary)),
            "{}",
            call.command_line()
        );
        assert!(call.env_keys.iter().all(|k| !k.contains(canary)));
    }
    let secret_call = env
        .calls()
        .into_iter()
        .find(|c| c.args.first().map(String::as_str) == Some("secret"))
        .unwrap();
    assert_eq!(secret_call.stdin_len, Some(canary.len()));
    assert!(secret_call.env_keys.contains(&"GH_TOKEN".to_string()));

    // No stdin at all: the real gh would wait for input; the simulation refuses.
    let no_stdin = run(
        &env,
        gh_words(ALICE_TOKEN, "secret set GITOPS_REPO --repo acme/gitops"),
    )
    .await;
    assert_eq!(no_stdin.exit_code, Some(1));
    assert!(
        no_stdin.stderr.contains("standard input"),
        "{}",
        no_stdin.stderr
    );
    let bad_name = run(
        &env,
        gh_words(ALICE_TOKEN, "secret set GITHUB_X --repo acme/gitops").stdin_bytes("v"),
    )
    .await;
    assert_eq!(bad_name.exit_code, Some(1));
}

#[tokio::test]
async fn labels_are_created_once_and_forced_after() {
    let (_dir, env) = standard();
    ok(
        &env,
        gh_words(ALICE_TOKEN, "repo create acme/gitops --private"),
    )
    .await;
    let create = || {
        gh(
            ALICE_TOKEN,
            &[
                "label",
                "create",
                "promoted",
                "--repo",
                "acme/gitops",
                "--color",
                "0E8A16",
                "--description",
                "Promoted to the next environment",
                "--force",
            ],
        )
    };
    ok(&env, create()).await;
    ok(&env, create()).await;
    let labels = ok_json(
        &env,
        gh_words(
            ALICE_TOKEN,
            "label list --repo acme/gitops --json name,color,description",
        ),
    )
    .await;
    let promoted = labels
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "promoted")
        .unwrap();
    assert_eq!(promoted["color"], "0e8a16");
    let unforced = run(
        &env,
        gh_words(ALICE_TOKEN, "label create promoted --repo acme/gitops"),
    )
    .await;
    assert_eq!(unforced.exit_code, Some(1));
    assert!(unforced.stderr.contains("already exists; use `--force`"));
}

#[tokio::test]
async fn repo_delete_needs_the_delete_repo_scope_and_restores_the_snapshot() {
    let (_dir, env) = standard();
    env.seed_repo(SeedRepo::new("acme", "existing").with_file("main", "a.txt", "a\n"))
        .unwrap();
    let before = env.snapshot();
    ok(
        &env,
        gh_words(ALICE_TOKEN, "repo create acme/temp --private"),
    )
    .await;
    ok(
        &env,
        gh_words(ALICE_TOKEN, "secret set X --repo acme/temp")
            .secret_stdin(SecretSlice::from(b"v".to_vec())),
    )
    .await;

    let no_scope = run(&env, gh_words(BOB_TOKEN, "repo delete acme/temp --yes")).await;
    assert_eq!(no_scope.exit_code, Some(1));
    assert!(
        no_scope
            .stderr
            .starts_with("HTTP 403: Must have admin rights to Repository."),
        "{}",
        no_scope.stderr
    );
    assert!(no_scope
        .stderr
        .contains("gh auth refresh -h github.com -s delete_repo"));
    let unconfirmed = run(&env, gh_words(ALICE_TOKEN, "repo delete acme/temp")).await;
    assert_eq!(unconfirmed.exit_code, Some(1));

    ok(&env, gh_words(ALICE_TOKEN, "repo delete acme/temp --yes")).await;
    assert!(!env.bare_repo_path("acme", "temp").exists());
    assert_same_state(&before, &env.snapshot());
    let gone = run(&env, gh_words(ALICE_TOKEN, "repo delete acme/temp --yes")).await;
    assert!(gone.stderr.contains("Could not resolve to a Repository"));
}

#[tokio::test]
async fn seeded_content_is_served_on_every_branch() {
    let (_dir, env) = standard();
    env.seed_repo(
        SeedRepo::new("acme", "cp")
            .with_file("main", "workloads/README.md", "w\n")
            .with_file("dev", "cluster-types/small.yaml", "a: 1\n"),
    )
    .unwrap();
    for (branch, path) in [
        ("main", "workloads/README.md"),
        ("dev", "cluster-types/small.yaml"),
    ] {
        let tree = ok_json(
            &env,
            gh_words(
                ALICE_TOKEN,
                &format!("api repos/acme/cp/git/trees/{branch}?recursive=1"),
            ),
        )
        .await;
        assert!(
            tree["tree"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["path"] == path),
            "{branch}: {tree}"
        );
    }
    let runner: std::sync::Arc<dyn CommandRunner> = std::sync::Arc::new(env.clone());
    // git clone through the environment sees both branches.
    let dir = tempfile::tempdir().unwrap();
    let clone = runner
        .run(
            spec(
                "git",
                &["clone", "--quiet", "https://github.com/acme/cp.git", "cp"],
            )
            .cwd(dir.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null"),
        )
        .await
        .unwrap();
    assert_eq!(clone.exit_code, Some(0), "{}", clone.stderr);
    assert!(dir.path().join("cp/workloads/README.md").is_file());
}

#[tokio::test]
async fn topics_and_the_repository_identity_read_as_the_rest_api_shows_them() {
    let (_dir, env) = standard();
    ok(
        &env,
        gh_words(ALICE_TOKEN, "repo create acme/marked --private"),
    )
    .await;
    let repo = ok_json(&env, gh_words(ALICE_TOKEN, "api repos/acme/marked")).await;
    assert!(repo["id"].as_u64().unwrap() > 0);
    let created_at = repo["created_at"].as_str().unwrap().to_string();
    assert!(
        time::OffsetDateTime::parse(&created_at, &time::format_description::well_known::Rfc3339)
            .is_ok(),
        "{created_at}"
    );
    assert_eq!(repo["topics"], serde_json::json!([]));

    ok(
        &env,
        gh_words(
            ALICE_TOKEN,
            "repo edit acme/marked --add-topic kalypso-bootstrap,Other-One",
        ),
    )
    .await;
    let repo = ok_json(&env, gh_words(ALICE_TOKEN, "api repos/acme/marked")).await;
    assert_eq!(
        repo["topics"],
        serde_json::json!(["kalypso-bootstrap", "other-one"])
    );
    assert_eq!(
        repo["created_at"],
        created_at.as_str(),
        "an edit keeps the creation time"
    );

    let invalid = run(
        &env,
        gh_words(ALICE_TOKEN, "repo edit acme/marked --add-topic not_valid"),
    )
    .await;
    assert_eq!(invalid.exit_code, Some(1));
    assert!(invalid.stderr.contains("HTTP 422"), "{}", invalid.stderr);

    ok(
        &env,
        gh_words(
            ALICE_TOKEN,
            "repo edit acme/marked --remove-topic other-one",
        ),
    )
    .await;
    let repo = ok_json(&env, gh_words(ALICE_TOKEN, "api repos/acme/marked")).await;
    assert_eq!(repo["topics"], serde_json::json!(["kalypso-bootstrap"]));

    // Deleted and created again: another id.
    let first_id = repo["id"].as_u64().unwrap();
    ok(&env, gh_words(ALICE_TOKEN, "repo delete acme/marked --yes")).await;
    ok(
        &env,
        gh_words(ALICE_TOKEN, "repo create acme/marked --private"),
    )
    .await;
    let again = ok_json(&env, gh_words(ALICE_TOKEN, "api repos/acme/marked")).await;
    assert_ne!(again["id"].as_u64().unwrap(), first_id);
    assert_eq!(again["topics"], serde_json::json!([]));
}

/// A GitHub Enterprise Server world answers on its host only, as gh and git would find it:
/// the token counts in `GH_ENTERPRISE_TOKEN` (gh ignores `GH_TOKEN` there), every URL it
/// prints names the server, and github.com is unreachable for gh and git alike.
#[tokio::test]
async fn an_enterprise_server_answers_on_its_host_only() {
    let (dir, env) = standard();
    env.set_github_host("ghe.example.test");
    let enterprise = |args: &[&str]| {
        spec("gh", args)
            .env("GH_HOST", "ghe.example.test")
            .secret_env("GH_ENTERPRISE_TOKEN", SecretString::from(ALICE_TOKEN))
    };
    let user = ok_json(&env, enterprise(&["api", "user"])).await;
    assert_eq!(user["login"], "alice");
    assert_eq!(user["html_url"], "https://ghe.example.test/alice");
    assert_eq!(user["url"], "https://ghe.example.test/api/v3/users/alice");
    ok(
        &env,
        enterprise(&["repo", "create", "acme/ghes", "--private"]),
    )
    .await;
    let view = ok_json(
        &env,
        enterprise(&["repo", "view", "acme/ghes", "--json", "url,name"]),
    )
    .await;
    assert_eq!(view["url"], "https://ghe.example.test/acme/ghes");

    // gh reads GH_TOKEN for github.com and *.ghe.com only: on the server it is no token.
    let wrong_variable = run(
        &env,
        spec("gh", &["api", "user"])
            .env("GH_HOST", "ghe.example.test")
            .secret_env("GH_TOKEN", SecretString::from(ALICE_TOKEN)),
    )
    .await;
    assert_eq!(
        wrong_variable.exit_code,
        Some(4),
        "{}",
        wrong_variable.stderr
    );

    // github.com: not logged in there, and with a token, no route.
    let github_com = run(&env, gh_words(ALICE_TOKEN, "api user")).await;
    assert_eq!(github_com.exit_code, Some(1));
    assert_eq!(
        github_com.stderr.trim(),
        "error connecting to api.github.com\ncheck your internet connection or https://githubstatus.com"
    );
    let no_login = run(&env, spec("gh", &["repo", "view", "acme/ghes"])).await;
    assert_eq!(no_login.exit_code, Some(4), "{}", no_login.stderr);
    let token = run(
        &env,
        spec("gh", &["auth", "token", "--hostname", "github.com"]),
    )
    .await;
    assert_eq!(token.stderr.trim(), "no oauth token found for github.com");
    let calls = env.calls();
    let hosts: Vec<Option<&str>> = calls.iter().map(|c| c.github_host.as_deref()).collect();
    assert_eq!(
        hosts,
        [
            Some("ghe.example.test"),
            Some("ghe.example.test"),
            Some("ghe.example.test"),
            Some("ghe.example.test"),
            Some("github.com"),
            Some("github.com"),
            Some("github.com"),
        ]
    );

    // git reaches the server's repositories, never github.com's.
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let reached = run(
        &env,
        git(
            &work,
            &[
                "ls-remote",
                "https://ghe.example.test/microsoft/kalypso-app-src.git",
            ],
        ),
    )
    .await;
    assert_eq!(reached.exit_code, Some(0), "{}", reached.stderr);
    assert!(reached.stdout.contains("refs/heads/main"));
    // Only the server's URLs are rewritten to the simulated repositories: a github.com URL
    // would leave for the real network (which a test never does).
    let rewritten: Vec<String> = env
        .git_env()
        .into_iter()
        .filter(|(key, _)| key.starts_with("GIT_CONFIG_VALUE_"))
        .map(|(_, value)| value)
        .collect();
    assert_eq!(rewritten, ["https://ghe.example.test/"]);
}

/// GitHub Free keeps environments to public repositories: creating one in a private
/// repository of a Free account is refused with GitHub's plan-gate answer (HTTP 403); a
/// public repository, an account on a paid plan, or an Enterprise Server may have them.
#[tokio::test]
async fn environments_in_private_repositories_need_a_paid_plan() {
    let (_dir, env) = standard();
    env.seed_repo(SeedRepo::new("acme", "private-cp").with_file("main", "README.md", "x\n"))
        .expect("seeded");
    env.seed_repo(SeedRepo::new("acme", "public-cp").public().with_file(
        "main",
        "README.md",
        "x\n",
    ))
    .expect("seeded");
    let create = |repo: &str| {
        gh_words(
            ALICE_TOKEN,
            &format!("api --method PUT repos/acme/{repo}/environments/dev --silent"),
        )
    };
    let refused = run(&env, create("private-cp")).await;
    assert_eq!(refused.exit_code, Some(1));
    assert_eq!(
        refused.stderr.trim(),
        "gh: Upgrade to GitHub Pro or make this repository public to enable this feature. (HTTP 403)"
    );
    assert!(env.snapshot().github.repos["acme/private-cp"]
        .environments
        .is_empty());
    ok(&env, create("public-cp")).await;

    env.set_github_plan("acme", kalypso_bootstrap::sim::GithubPlan::Team);
    ok(&env, create("private-cp")).await;
    assert!(env.snapshot().github.repos["acme/private-cp"]
        .environments
        .contains_key("dev"));
}

/// A branch's reference reads as GitHub's `GET repos/O/N/git/ref/heads/B` shows it (the head
/// commit in `object.sha`, 404 when there is none); `DELETE repos/O/N/git/refs/heads/B`
/// deletes it (204, no body) and answers 422 "Reference does not exist" the second time.
#[tokio::test]
async fn a_branch_reference_reads_and_deletes_as_the_rest_api_does() {
    let (_dir, env) = standard();
    env.seed_repo(
        SeedRepo::new("acme", "cp")
            .with_file("main", "README.md", "r\n")
            .with_file("stage", "gitops-repo.yaml", "a: 1\n"),
    )
    .unwrap();
    let reference = ok_json(
        &env,
        gh_words(ALICE_TOKEN, "api repos/acme/cp/git/ref/heads/stage"),
    )
    .await;
    assert_eq!(reference["ref"], "refs/heads/stage");
    assert_eq!(reference["object"]["type"], "commit");
    let head = reference["object"]["sha"].as_str().unwrap().to_string();
    assert_eq!(head.len(), 40, "{reference}");
    let missing = run(
        &env,
        gh_words(ALICE_TOKEN, "api repos/acme/cp/git/ref/heads/prod"),
    )
    .await;
    assert_eq!(missing.exit_code, Some(1));
    assert!(missing.stderr.contains("(HTTP 404)"), "{}", missing.stderr);

    let delete = [
        "api",
        "--method",
        "DELETE",
        "repos/acme/cp/git/refs/heads/stage",
        "--silent",
    ];
    assert_eq!(ok(&env, gh(ALICE_TOKEN, &delete)).await, "");
    let gone = run(
        &env,
        gh_words(ALICE_TOKEN, "api repos/acme/cp/git/ref/heads/stage"),
    )
    .await;
    assert!(gone.stderr.contains("(HTTP 404)"), "{}", gone.stderr);
    let again = run(&env, gh(ALICE_TOKEN, &delete)).await;
    assert_eq!(again.exit_code, Some(1));
    assert!(
        again.stderr.contains("Reference does not exist (HTTP 422)"),
        "{}",
        again.stderr
    );
    // main is untouched.
    let main = ok_json(
        &env,
        gh_words(ALICE_TOKEN, "api repos/acme/cp/git/ref/heads/main"),
    )
    .await;
    assert_eq!(main["ref"], "refs/heads/main");
}

/// `GET repos/O/N/compare/BASE...HEAD` (branches or commits) says how HEAD relates to BASE
/// as GitHub does: `identical`, `ahead`, `behind` or `diverged`, the reverse comparison the
/// mirror of it; an unknown commit is 404.
#[tokio::test]
async fn two_commits_compare_as_the_rest_api_does() {
    let (_dir, env) = standard();
    env.seed_repo(
        SeedRepo::new("acme", "cp")
            .with_file("main", "README.md", "r\n")
            .with_file("stage", "gitops-repo.yaml", "a: 1\n"),
    )
    .unwrap();
    let head = ok_json(
        &env,
        gh(ALICE_TOKEN, &["api", "repos/acme/cp/git/ref/heads/stage"]),
    )
    .await["object"]["sha"]
        .as_str()
        .unwrap()
        .to_string();
    let compare = |basehead: String| {
        let env = env.clone();
        async move {
            ok_json(
                &env,
                gh(
                    ALICE_TOKEN,
                    &["api", &format!("repos/acme/cp/compare/{basehead}")],
                ),
            )
            .await["status"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(compare(format!("{head}...stage")).await, "identical");
    let forward = compare("main...stage".to_string()).await;
    let backward = compare("stage...main".to_string()).await;
    let mirrored = match forward.as_str() {
        "ahead" => "behind",
        "behind" => "ahead",
        "diverged" => "diverged",
        other => panic!("main and stage differ: {other}"),
    };
    assert_eq!(backward, mirrored);
    let unknown = run(
        &env,
        gh(
            ALICE_TOKEN,
            &[
                "api",
                "repos/acme/cp/compare/0123456789abcdef0123456789abcdef01234567...stage",
            ],
        ),
    )
    .await;
    assert_eq!(unknown.exit_code, Some(1));
    assert!(unknown.stderr.contains("(HTTP 404)"), "{}", unknown.stderr);
}

/// A GitHub environment is deleted with `DELETE repos/O/N/environments/E` (204, its secrets
/// with it); one that is not there answers 404.
#[tokio::test]
async fn a_github_environment_is_deleted_with_its_secrets() {
    let (_dir, env) = standard();
    // Environments in a private repository need a paid plan.
    env.set_github_plan("acme", kalypso_bootstrap::sim::GithubPlan::Team);
    env.seed_repo(SeedRepo::new("acme", "cp").with_file("main", "README.md", "r\n"))
        .unwrap();
    ok(
        &env,
        gh_words(
            ALICE_TOKEN,
            "api --method PUT repos/acme/cp/environments/dev --silent",
        ),
    )
    .await;
    ok(
        &env,
        gh_words(
            ALICE_TOKEN,
            "secret set NEXT_ENVIRONMENT --env dev --repo acme/cp --body stage",
        ),
    )
    .await;
    assert!(env.github_environment_secret_is("acme", "cp", "dev", "NEXT_ENVIRONMENT", "stage"));
    let delete = [
        "api",
        "--method",
        "DELETE",
        "repos/acme/cp/environments/dev",
        "--silent",
    ];
    assert_eq!(ok(&env, gh(ALICE_TOKEN, &delete)).await, "");
    let view = run(
        &env,
        gh_words(ALICE_TOKEN, "api repos/acme/cp/environments/dev"),
    )
    .await;
    assert!(view.stderr.contains("(HTTP 404)"), "{}", view.stderr);
    assert!(!env.github_environment_secret_is("acme", "cp", "dev", "NEXT_ENVIRONMENT", "stage"));
    let again = run(&env, gh(ALICE_TOKEN, &delete)).await;
    assert!(
        again.stderr.contains("Not Found (HTTP 404)"),
        "{}",
        again.stderr
    );
}

/// `gh api --method POST repos/O/N/keys --input -` and the rest of GitHub's deploy key
/// endpoints: admins only, a key once across GitHub, OpenSSH public keys only, 404 once
/// deleted.
#[tokio::test]
async fn deploy_keys_are_added_listed_read_and_deleted_as_the_rest_api_does() {
    let (_dir, env) = standard();
    env.seed_repo(SeedRepo::new("acme", "gitops").with_file("main", "README.md", "x\n"))
        .unwrap();
    env.seed_repo(SeedRepo::new("acme", "other").with_file("main", "README.md", "x\n"))
        .unwrap();
    let (_, public) = ssh_key_pair("flux@workload");
    let body = |key: &str| {
        serde_json::json!({"title": "kalypso-gitops-dev", "key": key, "read_only": true})
            .to_string()
    };
    let add = |repo: &str, key: &str, token: &str| {
        gh_words(
            token,
            &format!("api --method POST repos/acme/{repo}/keys --input -"),
        )
        .stdin_bytes(body(key))
    };
    let created = ok_json(&env, add("gitops", &public, ALICE_TOKEN)).await;
    let without_comment: Vec<&str> = public.split_whitespace().take(2).collect();
    assert_eq!(created["key"], without_comment.join(" "));
    assert_eq!(created["title"], "kalypso-gitops-dev");
    assert_eq!(created["read_only"], true);
    assert_eq!(created["verified"], true);
    assert_eq!(created["enabled"], true);
    assert_eq!(created["added_by"], "alice");
    assert_eq!(created["last_used"], serde_json::Value::Null);
    let id = created["id"].as_u64().unwrap();
    assert_eq!(
        created["url"],
        format!("https://api.github.com/repos/acme/gitops/keys/{id}")
    );
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));

    let listed = ok_json(&env, gh_words(ALICE_TOKEN, "api repos/acme/gitops/keys")).await;
    assert_eq!(listed, serde_json::json!([created.clone()]));
    let read = ok_json(
        &env,
        gh(
            ALICE_TOKEN,
            &["api", &format!("repos/acme/gitops/keys/{id}")],
        ),
    )
    .await;
    assert_eq!(read, created);

    // A key is on one repository of GitHub at most.
    let again = run(&env, add("other", &public, ALICE_TOKEN)).await;
    assert_eq!(again.exit_code, Some(1));
    assert_eq!(again.stderr.trim(), "gh: Validation Failed (HTTP 422)");
    let answer: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(answer["errors"][0]["message"], "key is already in use");
    assert_eq!(answer["errors"][0]["field"], "key");
    // Not an OpenSSH public key.
    let malformed = run(&env, add("other", "ssh-ed25519 not-a-key", ALICE_TOKEN)).await;
    assert_eq!(malformed.exit_code, Some(1));
    let answer: serde_json::Value = serde_json::from_str(&malformed.stdout).unwrap();
    assert!(answer["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("key is invalid"));
    // Deploy keys are an admin's: a member is told there are none to see.
    let (_, second) = ssh_key_pair("bob");
    let member = run(&env, add("gitops", &second, BOB_TOKEN)).await;
    assert_eq!(member.stderr.trim(), "gh: Not Found (HTTP 404)");
    let member_list = run(&env, gh_words(BOB_TOKEN, "api repos/acme/gitops/keys")).await;
    assert_eq!(member_list.exit_code, Some(1));

    let deleted = ok(
        &env,
        gh_words(
            ALICE_TOKEN,
            &format!("api --method DELETE repos/acme/gitops/keys/{id}"),
        ),
    )
    .await;
    assert_eq!(deleted, "");
    let gone = run(
        &env,
        gh(
            ALICE_TOKEN,
            &["api", &format!("repos/acme/gitops/keys/{id}")],
        ),
    )
    .await;
    assert_eq!(gone.stderr.trim(), "gh: Not Found (HTTP 404)");
    let twice = run(
        &env,
        gh_words(
            ALICE_TOKEN,
            &format!("api --method DELETE repos/acme/gitops/keys/{id}"),
        ),
    )
    .await;
    assert_eq!(twice.exit_code, Some(1));
    let listed = ok_json(&env, gh_words(ALICE_TOKEN, "api repos/acme/gitops/keys")).await;
    assert_eq!(listed, serde_json::json!([]));
    // Free again: it may go on another repository now.
    ok_json(&env, add("other", &public, ALICE_TOKEN)).await;
}

/// `gh api meta`: github.com's published SSH host keys and fingerprints; an Enterprise
/// Server answers with its own.
#[tokio::test]
async fn meta_lists_the_ssh_host_keys_of_the_server() {
    let (_dir, env) = standard();
    let meta = ok_json(&env, gh_words(ALICE_TOKEN, "api meta")).await;
    assert_eq!(
        meta["ssh_keys"][0],
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    );
    assert_eq!(meta["ssh_keys"].as_array().unwrap().len(), 3);
    assert_eq!(
        meta["ssh_key_fingerprints"]["SHA256_ED25519"],
        "+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU"
    );
    assert_eq!(
        meta["ssh_key_fingerprints"]["SHA256_RSA"],
        "uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
    );

    let (_dir, env) = standard();
    env.set_github_host("ghe.example.test");
    let enterprise = spec("gh", &["api", "meta"])
        .env("GH_HOST", "ghe.example.test")
        .secret_env("GH_ENTERPRISE_TOKEN", SecretString::from(ALICE_TOKEN));
    let own = ok_json(&env, enterprise).await;
    let keys = own["ssh_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].as_str().unwrap().starts_with("ssh-ed25519 "));
    assert_ne!(keys[0], meta["ssh_keys"][0]);
    assert!(own["ssh_key_fingerprints"]["SHA256_ED25519"].is_string());
}
