//! The code a result came from: the git commit of the checkout and whether it had uncommitted
//! changes (git2, reading the repository directly; no `git` binary needed).

use serde::{Deserialize, Serialize};
use std::path::Path;

/// Folder name of results from code outside any git repository.
pub const NO_GIT: &str = "nogit";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    /// Full commit id of HEAD; `None` outside a repository (or before the first commit).
    pub commit: Option<String>,
    /// Tracked files differ from HEAD (untracked and ignored files do not count).
    pub dirty: bool,
    pub branch: Option<String>,
}

impl GitInfo {
    /// Looks for a repository at `dir` or above it.
    pub fn discover(dir: &Path) -> GitInfo {
        let none = GitInfo { commit: None, dirty: false, branch: None };
        let Ok(repo) = git2::Repository::discover(dir) else { return none };
        let Ok(head) = repo.head() else { return none };
        let Ok(commit) = head.peel_to_commit() else { return none };
        let mut options = git2::StatusOptions::new();
        options.include_untracked(false).include_ignored(false).include_unmodified(false);
        // A status that cannot be read is treated as dirty: never claim a clean tree we did not see.
        let dirty = repo.statuses(Some(&mut options)).map(|s| !s.is_empty()).unwrap_or(true);
        GitInfo { commit: Some(commit.id().to_string()), dirty, branch: head.shorthand().ok().map(str::to_string) }
    }

    /// The results folder of this code: 12 hex digits of the commit, `-dirty` when uncommitted
    /// changes make the commit alone an incomplete description.
    pub fn folder(&self) -> String {
        match &self.commit {
            Some(c) => format!("{}{}", &c[..12.min(c.len())], if self.dirty { "-dirty" } else { "" }),
            None => NO_GIT.into(),
        }
    }
}

/// Resolves a revision (`HEAD`, `HEAD~2`, a branch, a tag, a hash prefix) in the repository at or
/// above `dir` to its results folder name (12 hex digits).
pub fn resolve(dir: &Path, rev: &str) -> Result<String, String> {
    let repo = git2::Repository::discover(dir)
        .map_err(|e| format!("no git repository at {} to resolve '{rev}': {}", dir.display(), e.message()))?;
    let object = repo.revparse_single(rev).map_err(|e| format!("unknown revision '{rev}': {}", e.message()))?;
    let commit = object.peel_to_commit().map_err(|e| format!("'{rev}' is not a commit: {}", e.message()))?;
    Ok(commit.id().to_string()[..12].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit_all(repo: &git2::Repository, message: &str) -> git2::Oid {
        let mut index = repo.index().unwrap();
        index.add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None).unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.org").unwrap();
        let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents).unwrap()
    }

    #[test]
    fn commit_dirty_flag_and_revisions() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(GitInfo::discover(tmp.path()).folder(), NO_GIT);
        let repo = git2::Repository::init(tmp.path()).unwrap();
        std::fs::write(tmp.path().join("a.txt"), "one").unwrap();
        let first = commit_all(&repo, "first");
        let info = GitInfo::discover(tmp.path());
        assert_eq!(info.commit.as_deref(), Some(first.to_string().as_str()));
        assert!(!info.dirty);
        assert_eq!(info.folder(), first.to_string()[..12]);
        // Untracked files do not make a tree dirty; a changed tracked file does.
        std::fs::write(tmp.path().join("new.txt"), "x").unwrap();
        assert!(!GitInfo::discover(tmp.path()).dirty);
        std::fs::write(tmp.path().join("a.txt"), "two").unwrap();
        let info = GitInfo::discover(tmp.path());
        assert!(info.dirty && info.folder().ends_with("-dirty"));
        let second = commit_all(&repo, "second");
        assert_eq!(resolve(tmp.path(), "HEAD").unwrap(), second.to_string()[..12]);
        assert_eq!(resolve(tmp.path(), "HEAD~1").unwrap(), first.to_string()[..12]);
        assert!(resolve(tmp.path(), "no-such-branch").unwrap_err().contains("unknown revision 'no-such-branch'"));
    }
}
