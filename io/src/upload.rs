//! Upload files (C7): an image is written to a temporary file in `UPLOAD_DIR` piece by piece as
//! the multipart parser hands the pieces out, and only a complete image of an accepted type is
//! synced and renamed to its server-chosen name. Whatever else happens (the limit is passed, the
//! bytes are not an image, the request is cut, the caller drops it) leaves no file behind: the
//! temporary file is `tempfile`'s, removed when dropped.
//!
//! Writes block the caller's thread, on purpose: a piece is at most one socket read (tens of
//! KiB) and goes to the page cache without waiting for the disk, which takes microseconds. The
//! one call that waits for the disk is [`Upload::commit`]'s fsync, once per upload of at most
//! 5 MiB; a runtime may run it on its blocking pool (tokio's `spawn_blocking`, smol's `unblock`).
//! A writer thread would copy every piece through a channel and need a way back for its errors,
//! for no gain at this size.
//!
//! The temporary file's name starts with a dot, so no `/gif/<name>` can reach it
//! ([`StoredImage::parse`] refuses such names).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use gif_chat_core::chat::{
    GifName, ImageType, Sniff, StoredImage, SNIFF_LEN, STORED_NAME_RANDOM_BYTES,
};
use tempfile::NamedTempFile;
use thiserror::Error;

/// `UPLOAD_DIR` when it is not set.
pub const DEFAULT_UPLOAD_DIR: &str = "uploads";

/// The largest upload, 5 MiB (C7: 413 beyond).
pub const MAX_UPLOAD_BYTES: u64 = 5 * 1024 * 1024;

/// Why an upload was not kept. In every case its temporary file is gone.
#[derive(Debug, Error)]
pub enum UploadError {
    /// More bytes than the limit.
    #[error("the upload is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The bytes are not a GIF, PNG, JPEG or WebP image.
    #[error("the upload is not a GIF, PNG, JPEG or WebP image")]
    NotAnImage,
    /// The disk said no.
    #[error("writing the upload failed: {0}")]
    Io(#[from] io::Error),
}

impl UploadError {
    /// The HTTP status to answer with: 413, 415 or 500.
    pub fn status(&self) -> u16 {
        match self {
            UploadError::TooLarge { .. } => 413,
            UploadError::NotAnImage => 415,
            UploadError::Io(_) => 500,
        }
    }
}

/// The upload directory.
#[derive(Clone, Debug)]
pub struct UploadDir {
    path: PathBuf,
}

impl UploadDir {
    /// Opens the directory, creating it (and its parents) if missing.
    pub fn open(path: impl Into<PathBuf>) -> io::Result<UploadDir> {
        let path = path.into();
        fs::create_dir_all(&path)?;
        Ok(UploadDir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where a stored image is.
    pub fn file_path(&self, image: &StoredImage) -> PathBuf {
        self.path.join(image.name().as_str())
    }

    /// Starts an upload of at most `limit` bytes into a new temporary file.
    pub fn begin(&self, limit: u64) -> io::Result<Upload> {
        let file = tempfile::Builder::new()
            .prefix(".upload-")
            .suffix(".part")
            .tempfile_in(&self.path)?;
        Ok(Upload {
            file: Some(file),
            dir: self.path.clone(),
            head: Vec::with_capacity(SNIFF_LEN),
            written: 0,
            limit,
            too_large: false,
        })
    }

    /// Deletes a stored file (a removed room's images); `Ok(false)` if it was not there.
    pub fn remove(&self, name: &GifName) -> io::Result<bool> {
        match fs::remove_file(self.path.join(name.as_str())) {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(error),
        }
    }
}

/// An upload being written. Dropping it without [`commit`](Upload::commit) removes its file.
#[derive(Debug)]
pub struct Upload {
    /// `None` once refused: the file is already removed.
    file: Option<NamedTempFile>,
    dir: PathBuf,
    /// The first bytes, to tell the type by.
    head: Vec<u8>,
    written: u64,
    limit: u64,
    /// Refused for its size (rather than a failed write).
    too_large: bool,
}

impl Upload {
    /// Appends a piece. Past the limit the file is removed at once and this and every later
    /// write fail with [`UploadError::TooLarge`].
    pub fn write(&mut self, piece: &[u8]) -> Result<(), UploadError> {
        let Some(file) = self.file.as_mut() else {
            return Err(self.refused());
        };
        let written = self.written + piece.len() as u64;
        if written > self.limit {
            self.file = None;
            self.too_large = true;
            return Err(UploadError::TooLarge { limit: self.limit });
        }
        if let Err(error) = file.write_all(piece) {
            self.file = None;
            return Err(error.into());
        }
        let wanted = SNIFF_LEN.saturating_sub(self.head.len()).min(piece.len());
        self.head.extend_from_slice(&piece[..wanted]);
        self.written = written;
        Ok(())
    }

    /// The error for a write or commit after the upload was refused.
    fn refused(&self) -> UploadError {
        if self.too_large {
            UploadError::TooLarge { limit: self.limit }
        } else {
            UploadError::Io(io::Error::other("the upload already failed"))
        }
    }

    /// The bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// What the first bytes say so far: lets a caller refuse a non-image before the whole
    /// upload has arrived.
    pub fn sniff(&self) -> Sniff {
        ImageType::sniff(&self.head, false)
    }

    /// The upload is complete: if it is an accepted image, sync it, rename it to a name made of
    /// `random` and its type's extension, sync the directory, and return the stored image.
    pub fn commit(
        mut self,
        random: [u8; STORED_NAME_RANDOM_BYTES],
    ) -> Result<StoredImage, UploadError> {
        let file = self.file.take().ok_or_else(|| self.refused())?;
        let Sniff::Image(kind) = ImageType::sniff(&self.head, true) else {
            return Err(UploadError::NotAnImage);
        };
        file.as_file().sync_all()?;
        let image = StoredImage::new(random, kind);
        // No clobbering: 128 random bits do not repeat, and if they ever did the old file stays.
        file.persist_noclobber(self.dir.join(image.name().as_str()))
            .map_err(|error| UploadError::Io(error.error))?;
        // The rename is durable once the directory is synced too.
        File::open(&self.dir)?.sync_all()?;
        Ok(image)
    }
}
