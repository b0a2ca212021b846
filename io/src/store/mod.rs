//! The chat's store: rooms and chats in a database, on a thread of its own (C8).
//!
//! A database call blocks (disk, locks, and Argon2 hashing that is slow on purpose), and no event
//! loop may block. So a [`Store`] owns the connection on its own thread and takes
//! [`StoreRequest`]s through a bounded queue; each is answered by calling the
//! [`ReplyTo`] callback that came with it, on the store's thread. The callback is the runtime's
//! own wake-up (a tokio or async-channel sender, a mio `Waker` plus a slot), so the store needs no
//! executor and every runtime uses the same one.
//!
//! - a full queue answers [`StoreError::Busy`] at once instead of growing memory;
//! - dropping the [`Store`] lets the thread answer what is queued, then closes the database;
//! - the database is named by a [`DatabaseUrl`]; the engine behind it is a [`Backend`]: SQLite
//!   for one instance, PostgreSQL for several (issue 11);
//! - the schema is created and migrated when the store opens ([`SCHEMA_VERSION`]).

mod backend;
mod migrations;
mod password;
mod postgres;
mod postgres_migrations;
mod sqlite;
mod url;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::{self, JoinHandle};

use gif_chat_core::chat::{StoreError, StoreReply, StoreRequest};

use self::postgres::PostgresBackend;
use self::sqlite::SqliteBackend;

pub use backend::{Backend, OpenError};
pub use migrations::SCHEMA_VERSION;
pub use url::{DatabaseUrl, DatabaseUrlError, DEFAULT_DATABASE_URL};

/// Where the answer to one request goes: called exactly once, on the store's thread, or on the
/// caller's thread before [`Store::submit`] returns when the request is refused at once (busy,
/// closed). It should only hand the reply over and wake whoever waits; it must not block.
pub type ReplyTo = Box<dyn FnOnce(StoreReply) + Send>;

type Job = (StoreRequest, ReplyTo);

/// How the store runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// Requests that may wait for the store's thread; one more is refused as busy. At least 1.
    pub queue_capacity: usize,
}

impl StoreOptions {
    /// The default queue: enough for bursts of chats from thousands of visitors, a few hundred
    /// kilobytes at most.
    pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            queue_capacity: StoreOptions::DEFAULT_QUEUE_CAPACITY,
        }
    }
}

/// The database on its own thread. Shareable between threads (`Arc<Store>`); dropping the last
/// owner drains the queue and closes the database.
pub struct Store {
    queue: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Store {
    /// Opens the database `url` names, creates or migrates its schema, and starts the store's
    /// thread. Blocks while opening: call it at start, before serving.
    pub fn open(url: &DatabaseUrl, options: StoreOptions) -> Result<Store, OpenError> {
        Store::start(open_backend(url)?, options)
    }

    /// Starts a store's thread on an open backend.
    pub fn start(backend: Box<dyn Backend>, options: StoreOptions) -> Result<Store, OpenError> {
        let (queue, jobs) = mpsc::sync_channel(options.queue_capacity.max(1));
        let thread = thread::Builder::new()
            .name("gif-chat-store".into())
            .spawn(move || serve(backend, jobs))
            .map_err(OpenError::Thread)?;
        Ok(Store {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Queues a request; `reply` gets the answer (see [`ReplyTo`] for on which thread).
    pub fn submit(&self, request: StoreRequest, reply: ReplyTo) {
        let Some(queue) = &self.queue else {
            return reply(StoreReply::Failed(StoreError::Closed));
        };
        match queue.try_send((request, reply)) {
            Ok(()) => {}
            Err(TrySendError::Full((_, reply))) => reply(StoreReply::Failed(StoreError::Busy)),
            Err(TrySendError::Disconnected((_, reply))) => {
                reply(StoreReply::Failed(StoreError::Closed))
            }
        }
    }

    /// Queues a request and waits for its answer: for the start sequence and tests, never on an
    /// event loop, and never inside a [`ReplyTo`] (the store's thread would wait for itself).
    pub fn call(&self, request: StoreRequest) -> StoreReply {
        let (answer, answered) = mpsc::sync_channel(1);
        self.submit(
            request,
            Box::new(move |reply| {
                let _ = answer.send(reply);
            }),
        );
        answered
            .recv()
            .unwrap_or(StoreReply::Failed(StoreError::Closed))
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop once it has answered every queued request.
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            // A reply callback may hold the last owner; the thread cannot wait for itself, and
            // ends on its own once the callback returns.
            if thread.thread().id() != thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

/// The store's thread: one request at a time, in order, until the queue closes.
fn serve(mut backend: Box<dyn Backend>, jobs: Receiver<Job>) {
    for (request, reply) in jobs {
        // A panic in a backend or a callback is a bug; it costs that one request, not the store
        // (SQLite rolls an open transaction back as it unwinds).
        let answer =
            catch_unwind(AssertUnwindSafe(|| backend.handle(request))).unwrap_or_else(|_| {
                StoreReply::Failed(StoreError::Backend(
                    "the store panicked on this request".into(),
                ))
            });
        let _ = catch_unwind(AssertUnwindSafe(move || reply(answer)));
    }
    // Dropping the backend closes the database (and, for SQLite, checkpoints the WAL).
    drop(backend);
}

/// Opens the database a URL names, with its schema up to date.
fn open_backend(url: &DatabaseUrl) -> Result<Box<dyn Backend>, OpenError> {
    match url {
        DatabaseUrl::SqliteFile(path) => Ok(Box::new(SqliteBackend::open_file(path)?)),
        DatabaseUrl::SqliteMemory => Ok(Box::new(SqliteBackend::open_in_memory()?)),
        DatabaseUrl::Postgres(url) => Ok(Box::new(PostgresBackend::open(url)?)),
    }
}
