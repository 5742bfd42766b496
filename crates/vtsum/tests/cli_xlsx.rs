//! The Excel workbook from the command line: `-o report.xlsx` and `--format xlsx` into a
//! pipe write a real workbook (read back with `vtsum_test_utils::xlsx`), and a terminal
//! is refused one. Real processes against the fake VirusTotal.

mod support;

use support::{fake, input, json, ok, vtsum};

use std::process::{Command, Output};

use vtsum_test_utils::xlsx::XCell;

/// Runs a command in a pseudo-terminal (`script`, which passes the exit status on with
/// `-e`), so vtsum sees a terminal on stdout; stdout holds stderr too, as on a terminal.
fn in_terminal(cmd: &Command) -> Output {
    let mut line = cmd.get_program().to_string_lossy().to_string();
    for a in cmd.get_args() {
        line.push_str(&format!(" '{}'", a.to_string_lossy()));
    }
    let mut script = Command::new("script");
    script.args(["-qec", &line, "/dev/null"]).env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            script.env(k, v);
        }
    }
    script.output().expect("`script` (util-linux) runs")
}

/// `-o report.xlsx` and `--format xlsx` into a pipe write a real workbook holding every
/// row, numbers as numbers; `--format xlsx` to a terminal is refused with exit 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xlsx_goes_to_a_file_or_a_pipe_and_is_refused_on_a_terminal() {
    let fake = fake(&["k1"]).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, hashes) = input(&fake, dir.path(), 5, 1);
    let report = json(
        &vtsum(&fake, dir.path())
            .args(["scan", "-q", "--format", "json"])
            .arg(&path)
            .output()
            .unwrap(),
    );
    let out_path = dir.path().join("Report.XLSX");
    ok(&vtsum(&fake, dir.path())
        .args(["scan", "-q", "-o"])
        .arg(&out_path)
        .arg(&path)
        .output()
        .unwrap());
    let piped = vtsum(&fake, dir.path())
        .args(["scan", "-q", "--format", "xlsx"])
        .arg(&path)
        .output()
        .unwrap();
    ok(&piped);
    for book in [std::fs::read(&out_path).unwrap(), piped.stdout] {
        let sheet = vtsum_test_utils::xlsx::read_sheet(&book);
        assert_eq!(sheet.formulas, 0);
        assert_eq!(sheet.rows(), 1 + hashes.len(), "a header and every row");
        let header = sheet.row(0, 24);
        let col = |name: &str| {
            let name = XCell::Text(name.to_string());
            header.iter().position(|c| *c == Some(&name)).unwrap() as u32
        };
        for (i, row) in report["results"].as_array().unwrap().iter().enumerate() {
            let r = i as u32 + 1;
            let at = |name: &str| sheet.cells.get(&(r, col(name)));
            let input = row["input"].as_str().unwrap().to_string();
            assert_eq!(at("input"), Some(&XCell::Text(input)));
            let total = row["total"].as_f64().unwrap();
            assert_eq!(at("total"), Some(&XCell::Number(total)), "row {r}");
            let verdict = row["verdict"].as_str().unwrap().to_string();
            assert_eq!(at("verdict"), Some(&XCell::Text(verdict)));
        }
    }

    let mut cmd = vtsum(&fake, dir.path());
    cmd.args(["scan", "-q", "--format", "xlsx"]).arg(&path);
    let refused = in_terminal(&cmd);
    let text = String::from_utf8_lossy(&refused.stdout);
    assert_eq!(refused.status.code(), Some(2), "{text}");
    assert!(text.contains("-o report.xlsx"), "{text}");
    assert!(
        !text.contains("PK"),
        "no workbook bytes on the terminal: {text:.200}"
    );
}
