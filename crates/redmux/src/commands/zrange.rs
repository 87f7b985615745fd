//! ZRANGE and its options: [`ZRange`], by index, by score or by lexical order.

use std::ops::{Bound, RangeBounds};

use redmux_resp::ToArg;

use crate::{Command, Commands, FromValue, Request, cmd};

impl Commands {
    /// Members of a sorted set in a range:
    /// `ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count]`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::ZRange;
    /// let top_three: Vec<String> = client.zrange("leaderboard", ZRange::index(0, 2).rev()).await?;
    /// let passed: Vec<String> = client.zrange("grades", ZRange::by_score(50.0..).limit(0, 10)).await?;
    /// let a_to_c: Vec<String> = client.zrange("names", ZRange::by_lex("a".."d")).await?;
    /// # Ok(()) }
    /// ```
    pub fn zrange<T: FromValue>(&self, key: impl ToArg, range: ZRange) -> Request<'_, Vec<T>> {
        let mut command = cmd("ZRANGE").key(key);
        range.push_args(&mut command);
        self.request(command)
    }

    /// Members of a sorted set in a range, with their scores:
    /// `ZRANGE key start stop [BYSCORE] [REV] [LIMIT offset count] WITHSCORES`. RESP2's
    /// flat array and RESP3's pairs convert alike. The server refuses this with
    /// [`ZRange::by_lex`].
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::ZRange;
    /// for (player, score) in client.zrange_with_scores::<String>("leaderboard", ZRange::index(0, 9).rev()).await? {
    ///     println!("{player}: {score}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn zrange_with_scores<T: FromValue>(
        &self,
        key: impl ToArg,
        range: ZRange,
    ) -> Request<'_, Vec<(T, f64)>> {
        let mut command = cmd("ZRANGE").key(key);
        range.push_args(&mut command);
        self.request(command.arg("WITHSCORES"))
    }
}

/// Which members [`Client::zrange`] returns: a range by index, by score or by lexical
/// order, optionally reversed and paged.
///
/// Score and lexical ranges are Rust ranges: `1.0..5.0` excludes 5, `1.0..=5.0`
/// includes it, `..` has no bound, and `(Bound::Excluded(1.0), Bound::Unbounded)`
/// excludes the start. They are always given low to high, even with
/// [`rev`](Self::rev): the builder swaps them as `ZRANGE ... REV` wants.
///
/// ```
/// use std::ops::Bound;
/// use redmux::ZRange;
/// // ZRANGE key 0 -1
/// let everything = ZRange::index(0, -1);
/// // ZRANGE key (1 +inf BYSCORE LIMIT 0 20
/// let above_one = ZRange::by_score((Bound::Excluded(1.0), Bound::Unbounded)).limit(0, 20);
/// // ZRANGE key (m [a BYLEX REV
/// let a_to_m_backwards = ZRange::by_lex("a".."m").rev();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZRange {
    by: By,
    rev: bool,
    limit: Option<(u64, u64)>,
}

/// The two bounds as they go on the wire, low then high.
#[derive(Debug, Clone, PartialEq, Eq)]
enum By {
    Index(i64, i64),
    Score(String, String),
    Lex(Vec<u8>, Vec<u8>),
}

impl ZRange {
    /// By rank, `start` and `stop` both inclusive; negative ranks count from the end
    /// (`0, -1` is every member). With [`rev`](Self::rev), rank 0 is the highest score.
    pub fn index(start: i64, stop: i64) -> Self {
        ZRange::new(By::Index(start, stop))
    }

    /// `BYSCORE`: members whose score is in a range (`1.0..=5.0`, `10.0..`, ...).
    pub fn by_score(range: impl RangeBounds<f64>) -> Self {
        let min = score_bound(range.start_bound(), "-inf");
        let max = score_bound(range.end_bound(), "+inf");
        ZRange::new(By::Score(min, max))
    }

    /// `BYLEX`: members in a range of lexical (byte-wise) order (`"a".."n"`, `"k"..`,
    /// ...). Meaningful when all members have the same score.
    pub fn by_lex<'a>(range: impl RangeBounds<&'a str>) -> Self {
        let min = lex_bound(range.start_bound(), b'-');
        let max = lex_bound(range.end_bound(), b'+');
        ZRange::new(By::Lex(min, max))
    }

    fn new(by: By) -> Self {
        ZRange {
            by,
            rev: false,
            limit: None,
        }
    }

    /// `REV`: from the highest score (or last in lexical order) down.
    pub fn rev(mut self) -> Self {
        self.rev = true;
        self
    }

    /// `LIMIT offset count`: skip `offset` members of the range, then return at most
    /// `count`. The server accepts it with [`by_score`](Self::by_score) and
    /// [`by_lex`](Self::by_lex) only.
    pub fn limit(mut self, offset: u64, count: u64) -> Self {
        self.limit = Some((offset, count));
        self
    }

    fn push_args(self, command: &mut Command) {
        match (&self.by, self.rev) {
            (By::Index(start, stop), _) => _ = command.push_arg(start).push_arg(stop),
            (By::Score(min, max), false) => {
                _ = command.push_arg(min).push_arg(max).push_arg("BYSCORE")
            }
            (By::Score(min, max), true) => {
                _ = command.push_arg(max).push_arg(min).push_arg("BYSCORE")
            }
            (By::Lex(min, max), false) => _ = command.push_arg(min).push_arg(max).push_arg("BYLEX"),
            (By::Lex(min, max), true) => _ = command.push_arg(max).push_arg(min).push_arg("BYLEX"),
        }
        if self.rev {
            command.push_arg("REV");
        }
        if let Some((offset, count)) = self.limit {
            command.push_arg("LIMIT").push_arg(offset).push_arg(count);
        }
    }
}

pub(super) fn score_bound(bound: Bound<&f64>, unbounded: &str) -> String {
    let number = |d: f64| {
        if d.is_infinite() {
            if d > 0.0 {
                "+inf".to_owned()
            } else {
                "-inf".to_owned()
            }
        } else {
            // Debug is the shortest form that reads back as the same f64.
            format!("{d:?}")
        }
    };
    match bound {
        Bound::Included(d) => number(*d),
        Bound::Excluded(d) => format!("({}", number(*d)),
        Bound::Unbounded => unbounded.to_owned(),
    }
}

pub(super) fn lex_bound(bound: Bound<&&str>, unbounded: u8) -> Vec<u8> {
    let with = |prefix: u8, s: &str| {
        let mut out = Vec::with_capacity(s.len() + 1);
        out.push(prefix);
        out.extend_from_slice(s.as_bytes());
        out
    };
    match bound {
        Bound::Included(s) => with(b'[', s),
        Bound::Excluded(s) => with(b'(', s),
        Bound::Unbounded => vec![unbounded],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(range: ZRange) -> String {
        let mut command = cmd("ZRANGE").arg("k");
        range.push_args(&mut command);
        let bytes = command.into_bytes();
        let text = String::from_utf8_lossy(&bytes);
        // Keep the payloads only: drop the array header and the `$len` lines.
        text.split("\r\n")
            .filter(|part| !part.starts_with('*') && !part.starts_with('$') && !part.is_empty())
            .skip(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn bounds_go_on_the_wire_as_redis_spells_them() {
        assert_eq!(wire(ZRange::index(0, -1)), "0 -1");
        assert_eq!(wire(ZRange::index(0, 2).rev()), "0 2 REV");
        assert_eq!(wire(ZRange::by_score(1.5..=3.0)), "1.5 3.0 BYSCORE");
        assert_eq!(wire(ZRange::by_score(1.0..3.0)), "1.0 (3.0 BYSCORE");
        assert_eq!(wire(ZRange::by_score(..)), "-inf +inf BYSCORE");
        assert_eq!(
            wire(
                ZRange::by_score((Bound::Excluded(1.0), Bound::Unbounded))
                    .rev()
                    .limit(2, 5)
            ),
            "+inf (1.0 BYSCORE REV LIMIT 2 5"
        );
        assert_eq!(
            wire(ZRange::by_score(f64::NEG_INFINITY..=1e300)),
            "-inf 1e300 BYSCORE"
        );
        assert_eq!(wire(ZRange::by_lex("a".."m")), "[a (m BYLEX");
        assert_eq!(wire(ZRange::by_lex(..="m").rev()), "[m - BYLEX REV");
    }
}
