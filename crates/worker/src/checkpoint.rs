//! Checkpoints: every N blocks the worker writes a sealed copy of its whole store (contract
//! state, receipts, digests, executor snapshot and the height they hold) to
//! `checkpoints/checkpoint-<height>.sealed`. The store itself commits every block atomically, so a
//! kill -9 normally resumes from the store; a checkpoint is what a worker restores when its store
//! is lost or damaged (and, later, what history queries replay from).
//!
//! A checkpoint is written to a temporary file, synced, then renamed, so a crash mid-checkpoint
//! leaves the previous ones intact and a stray temporary file that the next start removes. It is
//! a sequence of frames, each one [`ImageChunk`] of the store sealed under the enclave's sealing
//! key with the height, the frame's index and whether it is the last in the associated data
//! (`u32` LE length, then the sealed bytes): written and read a frame at a time, so neither a
//! checkpoint nor a restore holds the store in memory. A file renamed to another height, cut
//! short, reordered or altered does not open, and restoring skips to the next older one.

use crate::store::{ImageChunk, StoreError, WorkerStore};
use parity_scale_codec::{DecodeAll, Encode};
use phalanx_crypto::sealing::SealingKey;
use rand_core::OsRng;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

const PREFIX: &str = "checkpoint-";
const SUFFIX: &str = ".sealed";
use crate::durable::TEMPORARY_EXTENSION;
const AAD_DOMAIN: &[u8] = b"PHALANX_CHECKPOINT_V2";
/// Largest sealed frame read back: a chunk's bound plus the seal's overhead, with room; a
/// larger length is damage, not a frame.
const MAX_FRAME_BYTES: usize = 2 * crate::store::IMAGE_CHUNK_BYTES + 64 * 1024;
/// Extension of the files history queries rebuild earlier states in (removed at start, as
/// temporary files are).
const SCRATCH_EXTENSION: &str = "scratch.tmp";

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
    #[error(transparent)]
    Store(#[from] StoreError),
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

fn aad(height: u64, index: u32, last: bool) -> Vec<u8> {
    [
        AAD_DOMAIN,
        &height.to_le_bytes(),
        &index.to_le_bytes(),
        &[u8::from(last)],
    ]
    .concat()
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

    /// Writes the checkpoint of `store` at `height` durably, a chunk at a time, then drops all
    /// but the newest `keep`.
    pub fn write(&self, height: u64, store: &WorkerStore) -> Result<(), CheckpointError> {
        let path = self.path(height);
        let temporary = path.with_extension(TEMPORARY_EXTENSION);
        {
            let file = crate::durable::create_private(&temporary).map_err(io(&temporary))?;
            let mut out = BufWriter::new(file);
            // Each chunk is written once the next exists, so the last one can say it is last.
            let mut held: Option<ImageChunk> = None;
            let mut index = 0u32;
            store.stream_image(|chunk| {
                if let Some(previous) = held.replace(chunk) {
                    self.write_frame(&mut out, height, index, false, &previous)
                        .map_err(io(&temporary))?;
                    index += 1;
                }
                Ok::<_, CheckpointError>(())
            })?;
            let last = held.unwrap_or_default();
            self.write_frame(&mut out, height, index, true, &last)
                .map_err(io(&temporary))?;
            let file = out
                .into_inner()
                .map_err(|e| io(&temporary)(e.into_error()))?;
            file.sync_all().map_err(io(&temporary))?;
        }
        crate::durable::finish(&temporary, &path).map_err(|(at, e)| io(&at)(e))?;
        let heights = self.heights()?;
        for old in &heights[..heights.len().saturating_sub(self.keep)] {
            let old = self.path(*old);
            std::fs::remove_file(&old).map_err(io(&old))?;
        }
        Ok(())
    }

    fn write_frame(
        &self,
        out: &mut impl Write,
        height: u64,
        index: u32,
        last: bool,
        chunk: &ImageChunk,
    ) -> std::io::Result<()> {
        let sealed = self
            .sealing
            .seal(&chunk.encode(), &aad(height, index, last), &mut OsRng);
        out.write_all(&(sealed.len() as u32).to_le_bytes())?;
        out.write_all(&sealed)
    }

    /// Loads the checkpoint of `height` into `store` (an empty one), a chunk at a time. On an
    /// error `store` holds part of it: the caller throws it away.
    pub fn load_into(&self, height: u64, store: &WorkerStore) -> Result<(), CheckpointError> {
        let path = self.path(height);
        let damaged = || CheckpointError::Unsealable(path.clone());
        let mut input = BufReader::new(std::fs::File::open(&path).map_err(io(&path))?);
        for index in 0u32.. {
            let mut length = [0u8; 4];
            // A file that ends before its last frame was cut short.
            input.read_exact(&mut length).map_err(|_| damaged())?;
            let length = u32::from_le_bytes(length) as usize;
            if length > MAX_FRAME_BYTES {
                return Err(damaged());
            }
            let mut sealed = vec![0u8; length];
            input.read_exact(&mut sealed).map_err(|_| damaged())?;
            let (bytes, last) = match self.sealing.unseal(&sealed, &aad(height, index, false)) {
                Ok(bytes) => (bytes, false),
                Err(_) => (
                    self.sealing
                        .unseal(&sealed, &aad(height, index, true))
                        .map_err(|_| damaged())?,
                    true,
                ),
            };
            let chunk = ImageChunk::decode_all(&mut &bytes[..]).map_err(|_| damaged())?;
            store.load_chunk(&chunk)?;
            if last {
                // Nothing may follow the last frame.
                let mut rest = [0u8; 1];
                return match input.read(&mut rest).map_err(io(&path))? {
                    0 => Ok(()),
                    _ => Err(damaged()),
                };
            }
        }
        Err(damaged())
    }

    /// Restores the newest checkpoint that opens into a new store at `path` (built beside it and
    /// renamed into place once whole); damaged ones are skipped (and logged). `open` opens (or
    /// creates) a store file with the enclave's keys.
    pub fn restore_newest(
        &self,
        path: &Path,
        open: impl Fn(&Path) -> Result<WorkerStore, StoreError>,
    ) -> Result<Option<(u64, WorkerStore)>, CheckpointError> {
        let building = path.with_extension(TEMPORARY_EXTENSION);
        for height in self.heights()?.into_iter().rev() {
            let _ = std::fs::remove_file(&building);
            let store = open(&building)?;
            match self.load_into(height, &store) {
                Ok(()) => {
                    drop(store);
                    crate::durable::finish(&building, path).map_err(|(at, e)| io(&at)(e))?;
                    return Ok(Some((height, open(path)?)));
                }
                Err(error) => {
                    drop(store);
                    tracing::warn!("skipping checkpoint: {error}");
                }
            }
        }
        let _ = std::fs::remove_file(&building);
        Ok(None)
    }

    /// A scratch store for rebuilding the state as of `height`: the newest checkpoint at or
    /// below it that opens, loaded into a file of this directory under `live`'s keys; or an
    /// empty one (height 0) when none does. The file goes when the [`Scratch`] does.
    pub fn scratch_at(
        &self,
        live: &WorkerStore,
        height: u64,
    ) -> Result<(u64, Scratch), CheckpointError> {
        let mut heights = self.heights()?;
        heights.retain(|at| *at <= height);
        for at in heights.into_iter().rev() {
            let scratch = self.new_scratch(live)?;
            match self.load_into(at, &scratch.store) {
                Ok(()) => return Ok((at, scratch)),
                Err(error) => tracing::warn!("history: skipping checkpoint: {error}"),
            }
        }
        Ok((0, self.new_scratch(live)?))
    }

    fn new_scratch(&self, live: &WorkerStore) -> Result<Scratch, CheckpointError> {
        let mut name = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut name);
        let path = self
            .dir
            .join(format!("history-{}.{SCRATCH_EXTENSION}", hex::encode(name)));
        let store = live.scratch_at(&path)?;
        Ok(Scratch { store, path })
    }
}

/// A store in a scratch file, removed when this is dropped.
pub struct Scratch {
    pub store: WorkerStore,
    path: PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Unlinking an open file is fine on Unix: the space goes once the store closes.
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SealingKey {
        SealingKey::from_bytes([4; 32])
    }

    /// A store whose meta `marker` entry says `marker`, with `entries` state entries of 1 KiB.
    fn store(dir: &Path, name: &str, marker: u8, entries: usize) -> WorkerStore {
        let store = WorkerStore::open(&dir.join(name), key(), [1; 32]).unwrap();
        let mut chunk = ImageChunk::default();
        chunk.0.push((5, b"marker".to_vec(), vec![marker]));
        for i in 0..entries as u32 {
            chunk
                .0
                .push((0, i.to_be_bytes().to_vec(), vec![marker; 1024]));
        }
        store.load_chunk(&chunk).unwrap();
        store
    }

    fn chunks(store: &WorkerStore) -> Vec<ImageChunk> {
        let mut all = Vec::new();
        store
            .stream_image(|chunk| {
                all.push(chunk);
                Ok::<_, StoreError>(())
            })
            .unwrap();
        all
    }

    fn marker(store: &WorkerStore) -> u8 {
        let entries: Vec<_> = chunks(store).into_iter().flat_map(|c| c.0).collect();
        entries
            .iter()
            .find(|(table, key, _)| *table == 5 && key == b"marker")
            .map(|(_, _, value)| value[0])
            .unwrap()
    }

    #[test]
    fn a_large_store_goes_out_and_comes_back_a_chunk_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        // 10 MiB of entries: three chunks.
        let big = store(dir.path(), "big.redb", 7, 10 * 1024);
        assert!(chunks(&big).len() >= 3);
        let checkpoints = Checkpoints::open(&dir.path().join("cp"), key(), 10, 2).unwrap();
        checkpoints.write(10, &big).unwrap();
        let copy = WorkerStore::open(&dir.path().join("copy.redb"), key(), [1; 32]).unwrap();
        checkpoints.load_into(10, &copy).unwrap();
        assert_eq!(chunks(&copy), chunks(&big));
    }

    #[test]
    fn the_newest_intact_checkpoint_wins_and_old_ones_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let cp = dir.path().join("cp");
        let checkpoints = Checkpoints::open(&cp, key(), 10, 2).unwrap();
        assert!(checkpoints.due(20) && !checkpoints.due(21) && !checkpoints.due(0));
        for height in [10u64, 20, 30] {
            let source = store(dir.path(), &format!("s{height}.redb"), height as u8, 3);
            checkpoints.write(height, &source).unwrap();
        }
        assert_eq!(checkpoints.heights().unwrap(), vec![20, 30], "keeps two");
        let open = |at: &Path| WorkerStore::open(at, key(), [1; 32]);
        let target = dir.path().join("restored.redb");
        let (height, restored) = checkpoints.restore_newest(&target, open).unwrap().unwrap();
        assert_eq!((height, marker(&restored)), (30, 30));
        drop(restored);
        std::fs::remove_file(&target).unwrap();

        // A damaged newest checkpoint, one cut short, or one renamed to another height, is
        // skipped.
        let newest = checkpoints.path(30);
        let mut bytes = std::fs::read(&newest).unwrap();
        bytes[20] ^= 1;
        std::fs::write(&newest, &bytes).unwrap();
        let (height, restored) = checkpoints.restore_newest(&target, open).unwrap().unwrap();
        assert_eq!((height, marker(&restored)), (20, 20));
        drop(restored);
        std::fs::remove_file(&target).unwrap();
        let twenty = std::fs::read(checkpoints.path(20)).unwrap();
        std::fs::write(checkpoints.path(20), &twenty[..twenty.len() - 3]).unwrap();
        assert!(checkpoints.restore_newest(&target, open).unwrap().is_none());
        std::fs::write(checkpoints.path(20), &twenty).unwrap();
        std::fs::rename(checkpoints.path(20), checkpoints.path(40)).unwrap();
        assert!(checkpoints.restore_newest(&target, open).unwrap().is_none());
        assert!(
            !target.exists(),
            "a failed restore leaves nothing at the target"
        );

        // A crash mid-write leaves a temporary file; the next start removes it.
        std::fs::write(checkpoints.path(50).with_extension("tmp"), b"half").unwrap();
        let reopened = Checkpoints::open(&cp, key(), 10, 2).unwrap();
        assert!(!checkpoints.path(50).with_extension("tmp").exists());
        // Another enclave's key opens none.
        reopened
            .write(60, &store(dir.path(), "s60.redb", 6, 1))
            .unwrap();
        let stranger = Checkpoints::open(&cp, SealingKey::from_bytes([5; 32]), 10, 2).unwrap();
        let strange = |at: &Path| WorkerStore::open(at, SealingKey::from_bytes([5; 32]), [1; 32]);
        assert!(stranger.restore_newest(&target, strange).unwrap().is_none());
    }

    #[test]
    fn history_scratch_files_go_with_their_scratch() {
        let dir = tempfile::tempdir().unwrap();
        let checkpoints = Checkpoints::open(&dir.path().join("cp"), key(), 10, 2).unwrap();
        let live = store(dir.path(), "live.redb", 3, 2);
        checkpoints.write(10, &live).unwrap();
        let (from, scratch) = checkpoints.scratch_at(&live, 15).unwrap();
        assert_eq!((from, marker(&scratch.store)), (10, 3));
        let files = || std::fs::read_dir(dir.path().join("cp")).unwrap().count();
        assert_eq!(files(), 2, "the checkpoint and the scratch file");
        drop(scratch);
        assert_eq!(files(), 1);
        let (from, _empty) = checkpoints.scratch_at(&live, 5).unwrap();
        assert_eq!(from, 0, "no checkpoint at or below 5: from genesis");
    }
}
