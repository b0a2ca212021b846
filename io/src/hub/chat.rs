//! The chat's I/O beside the hub (SPEC §6): the store on its thread, the upload directory, and
//! the work a connection hands out while it serves the chat's routes.
//!
//! Three kinds of work leave the hub's lock and come back to it:
//! - the chat app's [`StoreRequest`]s go to [`Store::submit`], whose reply callback (on the
//!   store's thread) locks the hub again, feeds the reply in and wakes whoever it concerns;
//! - a connection's [`ChatRequest`] goes to the hub under a [`ChatTicket`] (a job id of the
//!   process), and its [`ChatAnswer`] is kept until that connection's next exchange, which its
//!   [`HubWake`](super::HubWake) triggers on every runtime (an `AtomicWaker` for tokio and smol,
//!   the woken token plus the loop's waker for mio);
//! - an upload's commit (an fsync, then a rename and a directory fsync) and a `/gif/<name>`
//!   read run on `blocking`'s thread pool, never on an event loop: an fsync waits for the disk
//!   for milliseconds, and a read of a 5 MiB file that is not in the page cache may too. Their
//!   result comes back like a chat answer. An upload's pieces are written on the connection's
//!   own thread as they arrive: a piece is one socket read and lands in the page cache (see
//!   [`crate::upload`]).
//!
//! Images of removed rooms are unlinked on the store's thread, where the deletion's reply
//! arrives: the event loops never wait for the disk.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use gif_chat_core::chat::{
    ChatAnswer, ChatTicket, GifName, StoreReply, StoreRequest, StoreTicket, StoredImage,
    STORED_NAME_RANDOM_BYTES,
};
use gif_chat_core::upload::{UploadFailure, UploadStep};
use gif_chat_core::Connection;

use super::{HubLink, Inner, SharedHub};

use crate::store::{DatabaseUrl, OpenError, Store, StoreOptions};
use crate::upload::{Upload, UploadDir};

/// The chat's store and upload directory, opened at start.
pub struct ChatIo {
    pub(super) store: Store,
    pub(super) uploads: UploadDir,
    pub(super) upload_max: u64,
}

impl std::fmt::Debug for ChatIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatIo")
            .field("uploads", &self.uploads.path())
            .field("upload_max", &self.upload_max)
            .finish_non_exhaustive()
    }
}

/// Why the chat's I/O could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ChatIoError {
    /// The database could not be opened (or its schema migrated).
    #[error("cannot open the chat's database {url}: {source}")]
    Store {
        /// `DATABASE_URL`, as shown (never a PostgreSQL password).
        url: String,
        source: OpenError,
    },
    /// `UPLOAD_DIR` could not be created.
    #[error("cannot open UPLOAD_DIR {}: {source}", path.display())]
    Uploads { path: PathBuf, source: io::Error },
}

impl ChatIo {
    /// Opens the store `url` names (blocking: at start) and the upload directory.
    pub fn open(
        url: &DatabaseUrl,
        upload_dir: &Path,
        upload_max: u64,
    ) -> Result<ChatIo, ChatIoError> {
        let uploads = UploadDir::open(upload_dir).map_err(|source| ChatIoError::Uploads {
            path: upload_dir.to_owned(),
            source,
        })?;
        let store =
            Store::open(url, StoreOptions::default()).map_err(|source| ChatIoError::Store {
                url: url.to_string(),
                source,
            })?;
        Ok(ChatIo::new(store, uploads, upload_max))
    }

    /// The chat's I/O over a store already open.
    pub fn new(store: Store, uploads: UploadDir, upload_max: u64) -> ChatIo {
        ChatIo {
            store,
            uploads,
            upload_max,
        }
    }
}

/// What a connection's chat work gives back.
#[derive(Debug)]
pub(super) enum Done {
    Answer(ChatAnswer),
    Stored(Result<GifName, UploadFailure>),
    File(Option<Bytes>),
}

impl Done {
    pub(super) fn apply(self, conn: &mut Connection, now: std::time::Instant) {
        match self {
            Done::Answer(answer) => conn.handle_chat_answer(now, answer),
            Done::Stored(stored) => conn.handle_upload_stored(now, stored),
            Done::File(file) => conn.handle_file(now, file),
        }
    }
}

/// The hub side's record of chat work in flight, under the hub's lock.
#[derive(Debug, Default)]
pub(super) struct ChatJobs {
    next: u64,
    /// Results waiting for their connection's next exchange.
    pub(super) done: HashMap<u64, Done>,
    /// Whom to wake when a job is done.
    pub(super) waiters: HashMap<u64, Arc<super::HubWake>>,
    /// Jobs whose connection closed first: their result is dropped.
    pub(super) abandoned: HashSet<u64>,
}

impl ChatJobs {
    pub(super) fn start(&mut self, wake: &Arc<super::HubWake>) -> u64 {
        self.next += 1;
        self.waiters.insert(self.next, Arc::clone(wake));
        self.next
    }

    /// Keeps a job's result and names whom to wake (`None` if nobody waits any more).
    pub(super) fn finish(&mut self, job: u64, done: Done) -> Option<Arc<super::HubWake>> {
        if self.abandoned.remove(&job) {
            return None;
        }
        let waiter = self.waiters.remove(&job);
        if waiter.is_some() {
            self.done.insert(job, done);
        }
        waiter
    }

    /// The connection of `job` closed.
    pub(super) fn abandon(&mut self, job: u64) {
        self.waiters.remove(&job);
        if self.done.remove(&job).is_none() {
            self.abandoned.insert(job);
        }
    }
}

/// A connection's chat work: the job it waits for and the upload it writes. Every connection
/// task carries one, most never use it: the upload is boxed, so it costs a word until then.
#[derive(Debug, Default)]
pub(super) struct ChatLink {
    pub(super) job: Option<u64>,
    pub(super) writing: Option<Box<Writing>>,
}

/// An upload being written, or why writing it failed.
#[derive(Debug, Default)]
pub(super) struct Writing {
    pub(super) upload: Option<Upload>,
    /// A write failed: the `Finish` is answered with this.
    pub(super) error: Option<String>,
}

impl ChatLink {
    /// Nothing in flight and nothing being written.
    pub(super) fn is_idle(&self) -> bool {
        self.job.is_none() && self.writing.is_none()
    }

    /// Drops the upload being written (its temporary file goes with it).
    pub(super) fn drop_upload(&mut self) {
        self.writing = None;
    }

    /// Why the last upload could not be kept, taken.
    pub(super) fn take_upload_error(&mut self) -> Option<String> {
        self.writing.take().and_then(|w| w.error)
    }
}

/// One step of an upload, written on the caller's thread; `Finish` hands back the upload to
/// commit off the loop.
pub(super) fn write_step(link: &mut ChatLink, io: &ChatIo, step: UploadStep) -> Option<Upload> {
    match step {
        UploadStep::Begin { .. } => {
            let writing = match io.uploads.begin(io.upload_max) {
                Ok(upload) => Writing {
                    upload: Some(upload),
                    error: None,
                },
                Err(error) => Writing {
                    upload: None,
                    error: Some(error.to_string()),
                },
            };
            link.writing = Some(Box::new(writing));
            None
        }
        UploadStep::Piece(bytes) => {
            if let Some(writing) = &mut link.writing {
                if let Some(upload) = &mut writing.upload {
                    if let Err(error) = upload.write(&bytes) {
                        writing.upload = None;
                        writing.error = Some(error.to_string());
                    }
                }
            }
            None
        }
        UploadStep::Finish => {
            let upload = link.writing.as_mut().and_then(|w| w.upload.take());
            if upload.is_some() {
                link.writing = None;
            }
            upload
        }
        UploadStep::Abort => {
            // Dropping it removes its temporary file.
            link.drop_upload();
            None
        }
    }
}

/// Syncs and names a finished upload (blocking: run off the loop).
pub(super) fn commit(upload: Upload) -> Result<GifName, UploadFailure> {
    let mut random = [0u8; STORED_NAME_RANDOM_BYTES];
    getrandom::fill(&mut random).map_err(|e| UploadFailure::Storage(e.to_string()))?;
    upload
        .commit(random)
        .map(|image| image.name().clone())
        .map_err(|e| UploadFailure::Storage(e.to_string()))
}

/// Reads a stored image (blocking: run off the loop); `None` for anything that is not one.
pub(super) fn read_image(dir: &Path, name: &GifName) -> Option<Bytes> {
    let image = StoredImage::parse(name.as_str())?;
    std::fs::read(dir.join(image.name().as_str()))
        .ok()
        .map(Bytes::from)
}

/// Deletes the images of removed rooms (blocking: called on the store's thread).
pub(super) fn remove_gifs(io: &ChatIo, gifs: Vec<GifName>) {
    for gif in gifs {
        // A file already gone is fine; another failure leaves a file nothing names, which a
        // later cleanup may take: not worth failing anything for.
        let _ = io.uploads.remove(&gif);
    }
}

/// The reply a store that is not there gives.
pub(super) fn no_store() -> StoreReply {
    StoreReply::Failed(gif_chat_core::chat::StoreError::Closed)
}

/// Runs `work` on the blocking pool.
pub(super) fn off_loop(work: impl FnOnce() + Send + 'static) {
    blocking::unblock(work).detach();
}

#[cfg(test)]
mod tests {
    use super::*;
    use gif_chat_core::chat::ImageType;

    fn chat_io(dir: &Path) -> ChatIo {
        let url: DatabaseUrl = "sqlite::memory:".parse().expect("a valid URL");
        ChatIo::open(&url, &dir.join("uploads"), 64).expect("opens")
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.join("uploads"))
            .expect("the directory")
            .map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn an_upload_is_written_committed_read_and_removed() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let io = chat_io(dir.path());
        let mut link = ChatLink::default();
        let begin = UploadStep::Begin {
            kind: ImageType::Gif,
        };
        assert!(write_step(&mut link, &io, begin).is_none());
        assert!(!link.is_idle(), "an upload is being written");
        let piece = UploadStep::Piece(Bytes::from_static(b"GIF89a\x01\x00\x01\x00\x00\x00;"));
        assert!(write_step(&mut link, &io, piece).is_none());
        let upload = write_step(&mut link, &io, UploadStep::Finish).expect("the upload");
        let name = commit(upload).expect("stored");
        assert!(name.as_str().ends_with(".gif"), "{name}");
        assert_eq!(files(dir.path()), vec![name.to_string()]);
        let read = read_image(io.uploads.path(), &name).expect("read back");
        assert!(read.starts_with(b"GIF89a"));
        assert_eq!(
            read_image(io.uploads.path(), &GifName::parse("x.gif").expect("a name")),
            None
        );
        remove_gifs(&io, vec![name]);
        assert!(files(dir.path()).is_empty());
    }

    #[test]
    fn an_aborted_or_oversized_upload_leaves_nothing() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let io = chat_io(dir.path());
        let mut link = ChatLink::default();
        let begin = || UploadStep::Begin {
            kind: ImageType::Gif,
        };
        write_step(&mut link, &io, begin());
        write_step(
            &mut link,
            &io,
            UploadStep::Piece(Bytes::from_static(b"GIF89a")),
        );
        write_step(&mut link, &io, UploadStep::Abort);
        assert!(link.is_idle());
        assert!(files(dir.path()).is_empty());

        write_step(&mut link, &io, begin());
        write_step(
            &mut link,
            &io,
            UploadStep::Piece(Bytes::from(vec![b'G'; 65])),
        );
        assert!(write_step(&mut link, &io, UploadStep::Finish).is_none());
        assert!(link.take_upload_error().is_some(), "over the 64-byte limit");
        assert!(link.is_idle());
        assert!(files(dir.path()).is_empty());
    }
}

/// What the chat app asked for under the lock, done once it is released (a store that refuses
/// at once answers on the caller's thread, which would take the lock again).
#[derive(Default)]
pub(super) struct ChatOutbox {
    store: Vec<(StoreTicket, StoreRequest)>,
    gifs: Vec<GifName>,
}

/// The chat's side of the shared hub: its store, its HTTP requests, uploads and files.
impl SharedHub {
    /// Attaches the chat's store and upload directory, and (mio) how to wake the loop from the
    /// store's thread or the blocking pool. The room list is asked for at once, so that the
    /// rooms of the last run get their removal window from this start. Without it, the chat
    /// runs on an empty store that keeps nothing.
    pub fn attach_chat(&self, io: ChatIo, loop_wake: Option<Box<dyn Fn() + Send + Sync>>) {
        if let Some(wake) = loop_wake {
            let _ = self.loop_wake.set(wake);
        }
        let _ = self.chat_io.set(Arc::new(io));
        let outbox = self.take_chat_outbox(&mut self.lock());
        self.send_chat_outbox(outbox);
    }

    /// Hands a connection's chat requests, upload steps and file reads out, and gives it what
    /// came back. At most one job per connection is in flight (its pipeline waits for it).
    pub(super) fn exchange_chat(
        &self,
        inner: &mut Inner,
        conn: &mut Connection,
        link: &mut HubLink,
        token: usize,
        now: Instant,
    ) {
        if link.chat.is_idle() && !conn.awaits_chat_io() {
            return;
        }
        let io = self.chat_io.get().cloned();
        loop {
            if let Some(job) = link.chat.job {
                if let Some(done) = inner.jobs.done.remove(&job) {
                    link.chat.job = None;
                    done.apply(conn, now);
                }
            }
            if conn.is_closed() {
                if let Some(job) = link.chat.job.take() {
                    inner.jobs.abandon(job);
                }
                link.chat.drop_upload();
                return;
            }
            while let Some(step) = conn.poll_upload() {
                let finish = matches!(step, gif_chat_core::upload::UploadStep::Finish);
                let upload = match &io {
                    Some(io) => write_step(&mut link.chat, io, step),
                    None => None,
                };
                if !finish {
                    continue;
                }
                let wake = link.wake_handle(token);
                let job = inner.jobs.start(&wake);
                link.chat.job = Some(job);
                match upload {
                    Some(upload) => {
                        let me = self.me.clone();
                        off_loop(move || {
                            let stored = commit(upload);
                            if let Some(hub) = me.upgrade() {
                                hub.finish_job(job, Done::Stored(stored));
                            }
                        });
                    }
                    None => {
                        let reason = link
                            .chat
                            .take_upload_error()
                            .unwrap_or_else(|| "the upload was not written".to_owned());
                        let failed = Err(gif_chat_core::upload::UploadFailure::Storage(reason));
                        inner.jobs.finish(job, Done::Stored(failed));
                    }
                }
            }
            if link.chat.job.is_some() {
                if inner
                    .jobs
                    .done
                    .contains_key(&link.chat.job.unwrap_or_default())
                {
                    continue;
                }
                return;
            }
            if let Some(request) = conn.poll_chat_request() {
                let wake = link.wake_handle(token);
                let job = inner.jobs.start(&wake);
                link.chat.job = Some(job);
                inner.hub.handle_chat_request(now, ChatTicket(job), request);
                self.collect_chat_answers(inner);
                continue;
            }
            if let Some(name) = conn.poll_file_read() {
                let wake = link.wake_handle(token);
                let job = inner.jobs.start(&wake);
                link.chat.job = Some(job);
                match &io {
                    Some(io) => {
                        let io = Arc::clone(io);
                        let me = self.me.clone();
                        off_loop(move || {
                            let file = read_image(io.uploads.path(), &name);
                            if let Some(hub) = me.upgrade() {
                                hub.finish_job(job, Done::File(file));
                            }
                        });
                    }
                    None => {
                        inner.jobs.finish(job, Done::File(None));
                    }
                }
                continue;
            }
            return;
        }
    }

    /// Moves the hub's chat answers to their jobs and wakes their connections.
    pub(super) fn collect_chat_answers(&self, inner: &mut Inner) {
        while let Some((ticket, answer)) = inner.hub.poll_chat_answer() {
            if let Some(waiter) = inner.jobs.finish(ticket.0, Done::Answer(answer)) {
                waiter.wake();
                if self.collect_tokens {
                    inner.woken.push(waiter.token);
                }
            }
        }
    }

    /// Chat answers delivered, store requests and files to delete taken, under the lock.
    pub(super) fn take_chat_outbox(&self, inner: &mut Inner) -> ChatOutbox {
        self.flush_cluster(inner);
        self.collect_chat_answers(inner);
        let mut outbox = ChatOutbox::default();
        while let Some(request) = inner.hub.poll_store_request() {
            outbox.store.push(request);
        }
        while let Some(gif) = inner.hub.poll_removed_gif() {
            outbox.gifs.push(gif);
        }
        outbox
    }

    /// Sends the store requests and deletes the files, the lock released.
    pub(super) fn send_chat_outbox(&self, outbox: ChatOutbox) {
        let io = self.chat_io.get();
        if !outbox.gifs.is_empty() {
            if let Some(io) = io {
                let io = Arc::clone(io);
                let gifs = outbox.gifs;
                off_loop(move || remove_gifs(&io, gifs));
            }
        }
        for (ticket, request) in outbox.store {
            match io {
                Some(io) => {
                    let me = self.me.clone();
                    io.store.submit(
                        request,
                        Box::new(move |reply| {
                            if let Some(hub) = me.upgrade() {
                                hub.handle_store_reply(ticket, reply);
                            }
                        }),
                    );
                }
                // No store attached: an empty one that keeps nothing.
                None => {
                    let reply = match request {
                        StoreRequest::ListRooms => StoreReply::Rooms(Vec::new()),
                        _ => no_store(),
                    };
                    self.handle_store_reply(ticket, reply);
                }
            }
        }
    }

    /// The store's reply (on its thread, or on the caller's for a refusal): fed to the hub,
    /// whoever it concerns woken.
    fn handle_store_reply(&self, ticket: StoreTicket, reply: StoreReply) {
        let mut inner = self.lock();
        inner.hub.handle_store_reply(Instant::now(), ticket, reply);
        self.settle(&mut inner, None);
        let outbox = self.take_chat_outbox(&mut inner);
        drop(inner);
        self.send_chat_outbox(outbox);
        self.wake_loop();
    }

    /// A job of the blocking pool is done.
    fn finish_job(&self, job: u64, done: Done) {
        let mut inner = self.lock();
        if let Some(waiter) = inner.jobs.finish(job, done) {
            waiter.wake();
            if self.collect_tokens {
                inner.woken.push(waiter.token);
            }
        }
        drop(inner);
        self.wake_loop();
    }

    pub(super) fn wake_loop(&self) {
        if let Some(wake) = self.loop_wake.get() {
            wake();
        }
    }
}
