//! Checkpoints: every N blocks the worker writes a sealed copy of its whole store (contract
//! state, receipts, digests, executor snapshot and the height they hold) to
//! `checkpoints/checkpoint-<height>.sealed`. The store itself commits every block atomically, so a
//! kill -9 normally resumes from the store; a checkpoint is what a worker restores when its store
//! is lost or damaged (and, later, what history queries replay from).
//!
//! A checkpoint is written to a temporary file, synced, then renamed, so a crash mid-checkpoint
//! leaves the previous ones intact and a stray temporary file that the next start removes. Each
//! file is sealed as a whole under the enclave's sealing key with its height in the associated
//! data: a file renamed to another height, cut short or altered does not open, and restoring skips
//! to the next older one.

use crate::store::StoreImage;
use parity_scale_codec::{DecodeAll, Encode};
use phalanx_crypto::sealing::SealingKey;
use rand_core::OsRng;
use std::path::{Path, PathBuf};

const PREFIX: &str = "checkpoint-";
const SUFFIX: &str = ".sealed";
use crate::durable::TEMPORARY_EXTENSION;
const AAD_DOMAIN: &[u8] = b"PHALANX_CHECKPOINT_V1";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    #[error("checkpoint {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("checkpoint {0} is damaged or was sealed by another enclave")]
    Unsealable(PathBuf),
}

/// The checkpoints of one worker.
pub struct Checkpoints {
    dir: PathBuf,
    sealing: SealingKey,
    every: u64,
    keep: usize,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn aad(height: u64) -> Vec<u8> {
    [AAD_DOMAIN, &height.to_le_bytes()].concat()
}

impl Checkpoints {
    /// Checkpoints in `dir` every `every` blocks (0: never), keeping the newest `keep`.
    /// Removes temporary files a crash mid-checkpoint left behind.
    pub fn open(
        dir: &Path,
        sealing: SealingKey,
        every: u64,
        keep: usize,
    ) -> Result<Self, CheckpointError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let path = entry.map_err(io(dir))?.path();
            if path.extension().is_some_and(|e| e == TEMPORARY_EXTENSION) {
                std::fs::remove_file(&path).map_err(io(&path))?;
            }
        }
        Ok(Checkpoints {
            dir: dir.to_path_buf(),
            sealing,
            every,
            keep: keep.max(1),
        })
    }

    pub fn every(&self) -> u64 {
        self.every
    }

    /// Whether the block at `height` is followed by a checkpoint.
    pub fn due(&self, height: u64) -> bool {
        self.every > 0 && height > 0 && height.is_multiple_of(self.every)
    }

    fn path(&self, height: u64) -> PathBuf {
        self.dir.join(format!("{PREFIX}{height:012}{SUFFIX}"))
    }

    /// Heights of the checkpoints on disk, oldest first (intact or not).
    pub fn heights(&self) -> Result<Vec<u64>, CheckpointError> {
        let mut heights = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let name = entry.map_err(io(&self.dir))?.file_name();
            let height = name
                .to_str()
                .and_then(|n| n.strip_prefix(PREFIX))
                .and_then(|n| n.strip_suffix(SUFFIX))
                .and_then(|n| n.parse::<u64>().ok());
            heights.extend(height);
        }
        heights.sort_unstable();
        Ok(heights)
    }

    /// Writes the checkpoint of `height` durably, then drops all but the newest `keep`.
    pub fn write(&self, height: u64, image: &StoreImage) -> Result<(), CheckpointError> {
        let sealed = self.sealing.seal(&image.encode(), &aad(height), &mut OsRng);
        let path = self.path(height);
        crate::durable::write_file(&path, &sealed).map_err(|(at, e)| io(&at)(e))?;
        let heights = self.heights()?;
        for old in &heights[..heights.len().saturating_sub(self.keep)] {
            let old = self.path(*old);
            std::fs::remove_file(&old).map_err(io(&old))?;
        }
        Ok(())
    }

    /// The checkpoint of `height`, unsealed.
    pub fn load(&self, height: u64) -> Result<StoreImage, CheckpointError> {
        let path = self.path(height);
        let sealed = std::fs::read(&path).map_err(io(&path))?;
        let bytes = self
            .sealing
            .unseal(&sealed, &aad(height))
            .map_err(|_| CheckpointError::Unsealable(path.clone()))?;
        StoreImage::decode_all(&mut &bytes[..]).map_err(|_| CheckpointError::Unsealable(path))
    }

    /// The newest checkpoint that opens, with its height; damaged ones are skipped (and logged).
    pub fn newest_intact(&self) -> Result<Option<(u64, StoreImage)>, CheckpointError> {
        for height in self.heights()?.into_iter().rev() {
            match self.load(height) {
                Ok(image) => return Ok(Some((height, image))),
                Err(error) => tracing::warn!("skipping checkpoint: {error}"),
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(marker: u8) -> StoreImage {
        StoreImage {
            state: vec![(vec![marker], vec![marker; 3])],
            meta: vec![("synced".into(), vec![marker])],
            ..StoreImage::default()
        }
    }

    #[test]
    fn the_newest_intact_checkpoint_wins_and_old_ones_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let key = || SealingKey::from_bytes([4; 32]);
        let checkpoints = Checkpoints::open(dir.path(), key(), 10, 2).unwrap();
        assert!(checkpoints.due(20) && !checkpoints.due(21) && !checkpoints.due(0));
        for height in [10, 20, 30] {
            checkpoints.write(height, &image(height as u8)).unwrap();
        }
        assert_eq!(checkpoints.heights().unwrap(), vec![20, 30], "keeps two");
        assert_eq!(checkpoints.newest_intact().unwrap(), Some((30, image(30))));

        // A damaged newest checkpoint, or one renamed to another height, is skipped.
        let newest = checkpoints.path(30);
        let mut bytes = std::fs::read(&newest).unwrap();
        bytes[20] ^= 1;
        std::fs::write(&newest, bytes).unwrap();
        assert_eq!(checkpoints.newest_intact().unwrap(), Some((20, image(20))));
        std::fs::rename(checkpoints.path(20), checkpoints.path(40)).unwrap();
        assert_eq!(checkpoints.newest_intact().unwrap(), None);

        // A crash mid-write leaves a temporary file; the next start removes it.
        std::fs::write(checkpoints.path(50).with_extension("tmp"), b"half").unwrap();
        let reopened = Checkpoints::open(dir.path(), key(), 10, 2).unwrap();
        assert!(!checkpoints.path(50).with_extension("tmp").exists());
        // Another enclave's key opens none.
        reopened.write(60, &image(6)).unwrap();
        let stranger = Checkpoints::open(dir.path(), SealingKey::from_bytes([5; 32]), 10, 2);
        assert_eq!(stranger.unwrap().newest_intact().unwrap(), None);
    }
}
