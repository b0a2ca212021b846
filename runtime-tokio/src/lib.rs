//! gif-chat on tokio (to be written).
