//! A git revision checked out beside the working tree, for `mixdown diff --rev`: `git
//! worktree add --detach` into a temporary folder, and removed again (`git worktree remove`)
//! when done, when a step fails, and on Ctrl-C. The only module that runs git.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::interrupt::{self, Cleanup};
use crate::atomic_file::TemporaryFolder;

/// The name of the temporary folder a revision is checked out in.
const CHECKOUT_FOLDER: &str = "mixdown-rev-";

/// A revision checked out in a temporary worktree, removed when dropped.
pub struct Checkout {
    /// The repository's top folder.
    repo: PathBuf,
    /// The worktree.
    tree: PathBuf,
    /// The commit checked out, in full.
    pub commit: String,
    /// Removes the worktree on Ctrl-C, until the checkout is dropped.
    _on_interrupt: Cleanup,
    /// Holds the worktree; declared last so that it goes after git has let go.
    _folder: TemporaryFolder,
}

impl Checkout {
    /// Checks out `rev` of the git repository that holds `project`, and says where
    /// `project` is in the checkout.
    ///
    /// # Errors
    /// When git is missing, `project` is not in a repository, `rev` names no commit, or
    /// the checkout fails; the message says which.
    pub fn of(rev: &str, project: &Path) -> Result<(Self, PathBuf), String> {
        let folder = match project.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name =
            project.file_name().ok_or_else(|| format!("`{}` names no file", project.display()))?;
        let top = git(folder, &["rev-parse", "--show-toplevel"])
            .map_err(|e| format!("`{}` is not in a git repository ({e})", project.display()))?;
        let prefix = git(folder, &["rev-parse", "--show-prefix"])?;
        let repo = PathBuf::from(top);
        let commit =
            git(&repo, &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
                .map_err(|_| {
                    format!("`{rev}` names no commit of the repository at `{}`", repo.display())
                })?;
        let temporary = TemporaryFolder::create(CHECKOUT_FOLDER)
            .map_err(|e| format!("cannot create a folder to check `{rev}` out in: {e}"))?;
        let tree = temporary.path().join("tree");
        let shown = tree.display().to_string();
        let on_interrupt = {
            let (repo, tree) = (repo.clone(), tree.clone());
            interrupt::on_interrupt(move || remove_worktree(&repo, &tree))
        };
        // An interrupt during the checkout waits for it, then removes the whole worktree.
        interrupt::uninterrupted(|| {
            git(&repo, &["worktree", "add", "--detach", "--quiet", &shown, &commit])
        })
        .map_err(|e| format!("cannot check `{rev}` out: {e}"))?;
        let project_there = tree.join(prefix).join(name);
        let checkout = Self { repo, tree, commit, _on_interrupt: on_interrupt, _folder: temporary };
        Ok((checkout, project_there))
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        remove_worktree(&self.repo, &self.tree);
    }
}

/// Removes the worktree at `tree` and git's record of it. A worktree already gone only
/// needs its record pruned.
fn remove_worktree(repo: &Path, tree: &Path) {
    let shown = tree.display().to_string();
    if git(repo, &["worktree", "remove", "--force", &shown]).is_err() {
        let _ = std::fs::remove_dir_all(tree);
        let _ = git(repo, &["worktree", "prune"]);
    }
}

/// Runs git in `folder` and returns what it printed, trimmed; `Err` with what it said
/// when it fails or cannot run.
fn git(folder: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(folder)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}
