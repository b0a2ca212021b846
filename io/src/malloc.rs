//! The C allocator's arenas: one per process, unless the operator chose otherwise.
//!
//! glibc's malloc gives a thread that finds the arena it uses locked an arena of its own, up to
//! eight per core. On tokio a connection's task, its reactor registration and its session are
//! allocated on whichever thread runs it at the time and freed on another, and whether the
//! threads involved happen to share an arena decides how much of the arenas' pages stay
//! half-used: with glibc's default, 10,000 idle Socket.IO sessions on tokio took 2,700 bytes of
//! RSS each, with one arena 2,360 (with two to four arenas, one or the other from run to run);
//! a ticking connection of the seed took 1,632 and 1,427 (ANALYSIS.md). The hot paths hardly
//! pay for the shared lock: glibc's per-thread cache (tcache) hands out and takes back small
//! blocks without it, and the fan-out's CPU per delivery on tokio was 0.99–1.12× (median 1.02×)
//! of the default's in six paired repeats. smol and mio measured the same either way.
//!
//! `MALLOC_ARENA_MAX` in the environment (glibc reads it itself) wins over this.

/// Limits glibc's malloc to one arena. Call at the very start of `main`, before any thread
/// exists, so that no thread has made an arena yet. Does nothing on other C libraries, or when
/// `MALLOC_ARENA_MAX` is set.
pub fn use_one_arena() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes a malloc tunable; it is called before any other thread
    // exists, and `M_ARENA_MAX` with a positive value is a documented use. Its result (0 when
    // glibc refuses) needs no handling: the allocator then keeps its default.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
