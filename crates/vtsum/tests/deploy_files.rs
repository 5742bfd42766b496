//! The deployment files tell the truth: every flag and environment variable the Dockerfile
//! and compose file pass to vtsum exists (checked against the binary's own `--help`), so
//! they stay honest without a container engine on the test machine.

use assert_cmd::cargo::CommandCargoExt;

/// The container files stay in step with the CLI: every command they run parses, and every
/// variable they set is one vtsum reads.
#[test]
fn dockerfile_and_compose_use_only_real_flags_and_variables() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let compose = std::fs::read_to_string(root.join("docker-compose.yml")).unwrap();
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let env_example = std::fs::read_to_string(root.join(".env.example")).unwrap();
    let mut commands: Vec<Vec<String>> = compose
        .lines()
        .filter_map(|l| l.trim().strip_prefix("command: "))
        .filter(|c| !c.contains("redis-server"))
        .map(|c| serde_json::from_str(c).unwrap())
        .collect();
    let cmd = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("CMD "))
        .unwrap();
    commands.push(serde_json::from_str(cmd).unwrap());
    assert!(!commands.is_empty());
    for args in commands {
        let out = std::process::Command::cargo_bin("vtsum")
            .unwrap()
            .args(&args)
            .arg("--help")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "vtsum {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let help = std::process::Command::cargo_bin("vtsum")
        .unwrap()
        .args(["serve", "--help"])
        .output()
        .unwrap();
    // Help text wraps lines; compare with white space folded.
    let help = String::from_utf8_lossy(&help.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let names = compose
        .lines()
        .chain(env_example.lines())
        .filter_map(|l| {
            l.trim()
                .split_once(['=', ':'])
                .map(|(k, _)| k.trim().to_string())
        })
        .chain(
            dockerfile
                .split_whitespace()
                .filter_map(|w| w.split_once('=').map(|(k, _)| k.to_string())),
        )
        .filter(|k| k.starts_with("VT_") || k.starts_with("VTSUM_"))
        .collect::<std::collections::BTreeSet<_>>();
    assert!(names.len() >= 4, "{names:?}");
    for name in names {
        assert!(
            help.contains(&format!("env: {name}")),
            "vtsum does not read {name}"
        );
    }
}
