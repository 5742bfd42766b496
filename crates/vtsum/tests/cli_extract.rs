//! `vtsum extract`: the real binary, offline, with no key or store in its environment.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use assert_cmd::cargo::CommandCargoExt;

const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
const SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
const SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn vtsum(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("vtsum").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .current_dir(dir);
    cmd
}

fn run(mut cmd: Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8(out.to_vec()).unwrap()
}

#[test]
fn prints_unique_hashes_in_first_seen_order_from_files_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let sha512 = SHA256.repeat(2);
    // The first file ends without a newline inside a hash: it must not join the next file.
    std::fs::write(
        dir.path().join("a.log"),
        format!("x={}\n{sha512}\nprose\n{}", SHA1.to_uppercase(), &MD5[..16]),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.csv"),
        format!("{}\n{SHA1}, {SHA256}\n", &MD5[16..]),
    )
    .unwrap();
    let mut cmd = vtsum(dir.path());
    cmd.args(["extract", "a.log", "-", "b.csv"]);
    let out = run(cmd, format!("{MD5} {MD5}\n").as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{SHA1}\n{MD5}\n{SHA256}\n"));

    let mut cmd = vtsum(dir.path());
    cmd.args(["extract", "--count", "a.log", "-", "b.csv"]);
    let out = run(cmd, format!("{MD5} {MD5}\n").as_bytes());
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        "hashes: 3\nmd5: 1\nsha1: 1\nsha256: 1\nduplicates: 2\nnon-file hashes (IMPHASH…): 0\nlines without a hash: 4\n"
    );
}

#[test]
fn standard_input_is_read_when_no_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = vtsum(dir.path());
    cmd.arg("extract");
    let out = run(cmd, format!("{SHA256}\r\n").as_bytes());
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), format!("{SHA256}\n"));
}

#[test]
fn a_missing_file_exits_2_naming_it_without_its_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = vtsum(dir.path());
    cmd.args(["extract", "gone\u{1b}[2J.txt"]);
    let out = run(cmd, b"");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("cannot open gone?[2J.txt"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_directory_is_unreadable_input_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = vtsum(dir.path());
    cmd.args(["extract", "."]);
    let out = run(cmd, b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot read ."),
        "{}",
        text(&out.stderr)
    );
}
