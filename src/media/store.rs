//! Where photo bytes are kept: the [`PhotoStore`] trait, content addressed by [`PhotoHash`], and its local
//! filesystem implementation [`LocalPhotoStore`]; plus [`UploadArea`], the files that hold the bytes of uploads
//! still in progress.
//!
//! The trait is shaped for an S3-compatible object store as well: keys are plain strings
//! (`original/ab/cd/abcd….`), writes are whole objects and create-only (an object that already exists holds the
//! same bytes, since the key is their hash, so "already exists" is success — `object_store`'s `PutMode::Create` and
//! its `AlreadyExists` error map onto that directly), and nothing lists or renames. An `object_store` (0.14,
//! `ObjectStoreExt::put_opts` / `get`) implementation is not built yet and the crate is not a dependency; partial
//! uploads stay on local disk ([`UploadArea`]) either way.

use super::PhotoHash;
use std::collections::HashSet;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The files kept per photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The uploaded bytes as they came (with their EXIF): private.
    Original,
    /// The display JPEG, metadata stripped.
    Display,
    /// The thumbnail JPEG, metadata stripped.
    Thumb,
}

impl Variant {
    /// The key of this variant of a photo: `original/ab/cd/<sha256>`, `display/ab/cd/<sha256>.jpg`,
    /// `thumb/ab/cd/<sha256>.jpg`.
    pub fn key(self, sha: &PhotoHash) -> String {
        let s = sha.as_str();
        let ext = match self {
            Variant::Original => "",
            Variant::Display | Variant::Thumb => ".jpg",
        };
        format!("{}/{}/{}/{s}{ext}", self.dir(), &s[..2], &s[2..4])
    }

    /// The top folder of this variant.
    pub fn dir(self) -> &'static str {
        match self {
            Variant::Original => "original",
            Variant::Display => "display",
            Variant::Thumb => "thumb",
        }
    }
}

/// Content-addressed storage of photo files. Implementations must make a put atomic (readers see the whole file or
/// none) and idempotent (putting an existing key succeeds without change).
pub trait PhotoStore: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` as `variant` of `sha`.
    fn put(&self, sha: &PhotoHash, variant: Variant, bytes: &[u8]) -> io::Result<()>;
    /// Whether `variant` of `sha` is stored.
    fn exists(&self, sha: &PhotoHash, variant: Variant) -> io::Result<bool>;
    /// The bytes of `variant` of `sha`, if stored.
    fn read(&self, sha: &PhotoHash, variant: Variant) -> io::Result<Option<Vec<u8>>>;
}

/// Photos in a local directory: each file is written to a temporary name in `tmp/` under the root, flushed to disk
/// and renamed into place (then the directory is flushed), so a crash never leaves a half file under a final name.
#[derive(Debug, Clone)]
pub struct LocalPhotoStore {
    root: PathBuf,
}

impl LocalPhotoStore {
    /// A store rooted at `root` (created here with its `tmp/` folder). Temporary files a killed process left
    /// behind are removed (they were never visible as photos); they all live in one folder, so this reads one
    /// directory.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<LocalPhotoStore> {
        let store = LocalPhotoStore { root: root.into() };
        let swept = store.sweep_temporaries()?;
        if swept > 0 {
            tracing::info!(swept, root = %store.root.display(), "left-over temporary photo files removed");
        }
        fs::create_dir_all(store.tmp_dir())?;
        Ok(store)
    }

    /// Where files are written before they are renamed into place (same filesystem as the photos).
    fn tmp_dir(&self) -> PathBuf {
        self.root.join(TMP_DIR)
    }

    /// Removes the temporary files of writes that never finished; how many.
    fn sweep_temporaries(&self) -> io::Result<usize> {
        let entries = match fs::read_dir(self.tmp_dir()) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut n = 0;
        for entry in entries {
            fs::remove_file(entry?.path())?;
            n += 1;
        }
        Ok(n)
    }

    /// Its root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of a variant.
    pub fn path(&self, sha: &PhotoHash, variant: Variant) -> PathBuf {
        self.root.join(variant.key(sha))
    }
}

/// The folder (under the store's root) of files being written.
const TMP_DIR: &str = "tmp";

/// Writes `bytes` to `path` atomically: a temporary file in `tmp_dir` (an existing folder on the same filesystem),
/// fsync, rename, fsync of the destination directory.
fn write_atomically(tmp_dir: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("a photo path has a directory"))?;
    fs::create_dir_all(dir)?;
    let tmp = tmp_dir.join(format!("{:016x}.tmp", rand::random::<u64>()));
    let written = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    // The rename itself is durable only once the directory is.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

impl PhotoStore for LocalPhotoStore {
    fn put(&self, sha: &PhotoHash, variant: Variant, bytes: &[u8]) -> io::Result<()> {
        let path = self.path(sha, variant);
        if path.exists() {
            return Ok(());
        }
        write_atomically(&self.tmp_dir(), &path, bytes)
    }

    fn exists(&self, sha: &PhotoHash, variant: Variant) -> io::Result<bool> {
        self.path(sha, variant).try_exists()
    }

    fn read(&self, sha: &PhotoHash, variant: Variant) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.path(sha, variant)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The bytes of uploads in progress, one file per upload under `uploads/` of the photo directory. The database
/// holds each upload's confirmed offset; the file may hold more after a crash between write and commit, so every
/// write first cuts the file back to the offset it was given.
#[derive(Debug)]
pub struct UploadArea {
    dir: PathBuf,
    busy: Mutex<HashSet<String>>,
}

/// Marks an upload as being written to until dropped.
#[derive(Debug)]
pub struct UploadLock<'a> {
    area: &'a UploadArea,
    id: String,
}

impl Drop for UploadLock<'_> {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.area.busy.lock() {
            busy.remove(&self.id);
        }
    }
}

impl UploadArea {
    /// The area in `dir` (created with the first upload).
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<UploadArea> {
        Ok(UploadArea {
            dir: dir.into(),
            busy: Mutex::new(HashSet::new()),
        })
    }

    fn path(&self, id: &str) -> PathBuf {
        // Ids are generated by the server (`upl_` + hex); anything else never names a file.
        let safe: String = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        self.dir.join(format!("{safe}.part"))
    }

    /// Takes the upload for writing; `None` while another request writes to it.
    pub fn lock(&self, id: &str) -> Option<UploadLock<'_>> {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        busy.insert(id.to_owned()).then(|| UploadLock {
            area: self,
            id: id.to_owned(),
        })
    }

    /// Writes `bytes` at `offset` (cutting anything beyond it first) and flushes them to disk.
    pub fn write_at(&self, id: &str, offset: u64, bytes: &[u8]) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let mut f = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(self.path(id))?;
        let len = f.metadata()?.len();
        if len < offset {
            return Err(io::Error::other(format!(
                "upload {id}: the file holds {len} bytes, fewer than the offset {offset}"
            )));
        }
        f.set_len(offset)?;
        f.seek(SeekFrom::Start(offset))?;
        f.write_all(bytes)?;
        f.sync_data()
    }

    /// The first `len` bytes of an upload.
    pub fn read(&self, id: &str, len: u64) -> io::Result<Vec<u8>> {
        let f = fs::File::open(self.path(id))?;
        let mut out = Vec::with_capacity(len as usize);
        f.take(len).read_to_end(&mut out)?;
        Ok(out)
    }

    /// Removes an upload's file (none is fine).
    pub fn remove(&self, id: &str) -> io::Result<()> {
        match fs::remove_file(self.path(id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_put_lands_whole_under_its_content_address_and_twice_is_once() {
        let dir = std::env::temp_dir().join(format!("gridline-photos-{:x}", rand::random::<u64>()));
        let store = LocalPhotoStore::open(&dir).unwrap();
        let sha = PhotoHash::of(b"abc");
        assert!(!store.exists(&sha, Variant::Original).unwrap());
        store.put(&sha, Variant::Original, b"abc").unwrap();
        store.put(&sha, Variant::Original, b"abc").unwrap();
        assert_eq!(
            store.read(&sha, Variant::Original).unwrap().unwrap(),
            b"abc"
        );
        let key = Variant::Original.key(&sha);
        assert!(key.starts_with("original/ba/78/ba7816bf"), "{key}");
        let leftovers = fs::read_dir(dir.join("original/ba/78")).unwrap().count();
        assert_eq!(leftovers, 1, "one file under the photo's name");
        let temps = fs::read_dir(dir.join(TMP_DIR)).unwrap().count();
        assert_eq!(temps, 0, "no temporary file is left behind");
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn temporary_files_a_killed_writer_left_are_swept_on_open_and_photos_stay() {
        let dir = std::env::temp_dir().join(format!("gridline-photos-{:x}", rand::random::<u64>()));
        let store = LocalPhotoStore::open(&dir).unwrap();
        let sha = PhotoHash::of(b"abc");
        store.put(&sha, Variant::Display, b"abc").unwrap();
        let stale = dir.join(TMP_DIR).join("00000000deadbeef.tmp");
        fs::write(&stale, b"half a photo").unwrap();
        let uploads = dir.join("uploads");
        fs::create_dir_all(&uploads).unwrap();
        fs::write(uploads.join("upl_1"), b"an upload in progress").unwrap();
        let store = LocalPhotoStore::open(&dir).unwrap();
        assert!(!stale.exists(), "the temporary file is gone");
        assert_eq!(store.read(&sha, Variant::Display).unwrap().unwrap(), b"abc");
        assert!(
            uploads.join("upl_1").exists(),
            "uploads are not the store's"
        );
        let _ = fs::remove_dir_all(dir);
    }
}
