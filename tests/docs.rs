//! The project speaks for itself: every tool has help and a current man page.

use pca_mesh_tests::*;

const TOOLS: &[&str] = &["pca-csr", "pca-issue", "pca-get", "cacerts-build"];

fn tools() -> Vec<String> {
    // Every binary crate under crates/ is a tool.
    let mut names: Vec<String> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("src/main.rs").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_tool_has_help_and_a_current_man_page() {
    let all = tools();
    for t in TOOLS {
        assert!(all.iter().any(|n| n == t), "{t} missing from crates/");
    }
    let dir = workdir();
    for t in &all {
        let help = Cmd::tool(t, dir.path()).args(["--help"]).run().ok().stdout;
        assert!(
            help.contains("Usage:") && help.contains("Exit status"),
            "{t} --help:\n{help}"
        );
        let man = Cmd::tool(t, dir.path())
            .args(["--generate-man"])
            .run()
            .ok()
            .stdout;
        let committed = std::fs::read_to_string(root().join("man").join(format!("{t}.1")))
            .unwrap_or_else(|_| panic!("man/{t}.1 is missing; run `make man`"));
        assert_eq!(man, committed, "man/{t}.1 is stale; run `make man`");
    }
}
