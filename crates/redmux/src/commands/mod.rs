//! Typed commands, one file per family. Each method builds its command and returns
//! a [`crate::Request`]; none of them blocks the connection.

mod strings;
