//! gif-chat on mio (to be written).
