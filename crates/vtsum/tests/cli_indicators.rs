//! `vtsum extract --kinds`: URLs, domains and IPs beside the hashes, refanged, from the
//! example threat report; the real binary, offline.

use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;
use vtsum_core::extract::ioc::{extract_indicators, IocOptions};

const REPORT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/threat-report.txt"
);

fn extract(dir: &std::path::Path, args: &[&str]) -> Output {
    let mut cmd = Command::cargo_bin("vtsum").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .current_dir(dir)
        .arg("extract")
        .args(args);
    cmd.output().unwrap()
}

fn lines(out: &Output) -> Vec<String> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn all_kinds_give_the_hashes_then_every_indicator_refanged() {
    let dir = tempfile::tempdir().unwrap();
    let got = lines(&extract(dir.path(), &["--kinds", "all", REPORT]));
    let text = std::fs::read(REPORT).unwrap();
    let hashes = vtsum_core::extract::extract_bytes(&text).job_hashes();
    let others = extract_indicators(&text, &IocOptions::default());
    let mut want: Vec<String> = hashes.iter().map(|h| h.as_str().to_string()).collect();
    want.extend(others.found.iter().map(|i| i.value.clone()));
    assert_eq!(got, want);
    // The report's own forms: defanged in the text, plain here; the Sysmon line's md5
    // follows its sha256, its IMPHASH is nowhere.
    for plain in [
        "https://update-check.evil-cdn.com/payload.bin",
        "c2-panel.top",
        "185.220.101.4",
        "5d41402abc4b2a76b9719d911017c592",
    ] {
        assert!(got.iter().any(|l| l == plain), "{plain} in {got:#?}");
    }
    for absent in [
        "10.0.0.5",
        "192.168.1.20",
        "invoice.zip",
        "svchost.exe",
        "f34d5f2d4577ed6d9ceec516c1f5a744",
    ] {
        assert!(!got.iter().any(|l| l == absent), "{absent} in {got:#?}");
    }
    let private = lines(&extract(
        dir.path(),
        &["--kinds", "ips", "--include-private", REPORT],
    ));
    assert!(private.iter().any(|l| l == "10.0.0.5"), "{private:#?}");
}

#[test]
fn kinds_and_the_skip_list_choose_what_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    let urls = lines(&extract(dir.path(), &["--kinds", "urls", REPORT]));
    assert!(!urls.is_empty());
    assert!(urls.iter().all(|u| u.starts_with("http")), "{urls:#?}");

    let skip = dir.path().join("skip.txt");
    std::fs::write(
        &skip,
        "# our partners\nevil-corp.com\nhttps://evil-cdn.com/gate.php\n",
    )
    .unwrap();
    let all = lines(&extract(dir.path(), &["--kinds", "domains,urls", REPORT]));
    let kept = lines(&extract(
        dir.path(),
        &[
            "--kinds",
            "domains,urls",
            "--skip",
            skip.to_str().unwrap(),
            REPORT,
        ],
    ));
    assert!(all.iter().any(|l| l == "mail.evil-corp.com"), "{all:#?}");
    assert!(
        !kept.iter().any(|l| l.ends_with("evil-corp.com")),
        "{kept:#?}"
    );
    assert!(!kept
        .iter()
        .any(|l| l.starts_with("https://evil-cdn.com/gate.php")));
    assert!(kept
        .iter()
        .any(|l| l == "https://update-check.evil-cdn.com/payload.bin"));

    std::fs::write(&skip, "evil-corp.com\nnot a domain at all\n").unwrap();
    let bad = extract(
        dir.path(),
        &["--kinds", "all", "--skip", skip.to_str().unwrap(), REPORT],
    );
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("line 2"), "{err}");

    let wrong = extract(dir.path(), &["--kinds", "hashes,files,emails", REPORT]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("unknown kind \"emails\""));
}
