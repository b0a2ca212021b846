//! gif-chat on smol (to be written).
