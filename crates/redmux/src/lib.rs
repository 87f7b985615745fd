//! redmux: placeholder.
