//! Aggregates: opening one (bounded by depth, growing as elements come), and
//! handing each finished value to the innermost open one, closing every aggregate
//! it completes.

use super::Decoder;
use super::frame::{Frame, FrameKind, finish, pair_up};
use super::outcome::Oversize;
use crate::Value;
use crate::error::DecodeError;

impl Decoder {
    /// Opens an aggregate. `SKIP` as for `Decoder::general`: a frame being discarded
    /// stores no elements, so it reserves no room for them.
    pub(super) fn open<const SKIP: bool>(
        &mut self,
        kind: FrameKind,
        expected: Option<usize>,
    ) -> Result<(), DecodeError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(DecodeError::TooDeep {
                limit: self.limits.max_depth,
            });
        }
        // A header can claim millions of elements in a few bytes: grow as they come.
        let capacity = if SKIP && self.discarding() {
            0
        } else {
            expected.unwrap_or(0).min(1024)
        };
        self.stack.push(Frame {
            kind,
            expected,
            items: Vec::with_capacity(capacity),
        });
        Ok(())
    }

    /// Hands a finished value to the innermost open aggregate, closing every aggregate
    /// it completes; returns the value once nothing is left open.
    pub(super) fn complete<const SKIP: bool>(
        &mut self,
        mut value: Value,
    ) -> Result<Option<Value>, DecodeError> {
        if SKIP && self.discarding() {
            return self.discard(value);
        }
        loop {
            let Some(top) = self.stack.last_mut() else {
                return Ok(Some(value));
            };
            if let FrameKind::StreamedString(_) = top.kind {
                return Err(DecodeError::Malformed("a value inside a streamed string"));
            }
            top.items.push(value);
            if top.expected.is_none() {
                // A streamed aggregate announces no length to check up front.
                let len = match top.kind {
                    FrameKind::Map => top.items.len().div_ceil(2),
                    _ => top.items.len(),
                };
                if len > self.limits.max_aggregate_len {
                    // Discarding from here on, this value with the rest.
                    self.over_limit::<SKIP>(Oversize::Aggregate, len as u64)?;
                    return Ok(None);
                }
            }
            if top.expected != Some(top.items.len()) {
                return Ok(None);
            }
            let Some(frame) = self.stack.pop() else {
                return Ok(None);
            };
            if let FrameKind::Attribute = frame.kind {
                let attributes = pair_up(frame.items)?;
                self.open::<SKIP>(FrameKind::Attributed(attributes), Some(1))?;
                return Ok(None);
            }
            value = finish(frame)?;
        }
    }
}
