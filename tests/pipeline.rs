//! The offline pipeline, run as a user runs it: processes, pipes, files.

use pca_mesh_tests::*;

#[test]
fn three_clusters_through_pipes() {
    let dir = workdir();
    let d = dir.path();
    sh("pca-issue --init-root root-ca", d).ok();
}
