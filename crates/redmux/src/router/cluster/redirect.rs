//! What a cluster node's error reply asks of the client: MOVED, ASK, TRYAGAIN,
//! CLUSTERDOWN, LOADING, READONLY. Only the cluster layer reads these.

use redmux_resp::Value;

use super::topology::NodeAddr;

/// A reply that refuses the command for a reason the cluster layer handles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Redirect {
    /// `MOVED slot host:port`: the slot lives there now; fix the map, resend.
    Moved { slot: u16, to: NodeAddr },
    /// `ASK slot host:port`: this key is mid-migration; send ASKING and the command
    /// to the target, once, and leave the map alone.
    Ask { to: NodeAddr },
    /// TRYAGAIN (keys of a multi-key command split by a migration), CLUSTERDOWN,
    /// LOADING: wait a little and try again, within the command's timeout.
    Retry,
    /// READONLY: written to a replica (a demoted primary); refresh the map, retry.
    Stale,
}

impl Redirect {
    /// The redirect an error reply asks for, if it is one.
    pub(crate) fn of(reply: &Value) -> Option<Redirect> {
        Redirect::of_line(std::str::from_utf8(reply.as_error()?).ok()?)
    }

    /// The redirect an error line (`MOVED 3999 host:port`) asks for, if it is one.
    pub(crate) fn of_line(text: &str) -> Option<Redirect> {
        let mut words = text.split_ascii_whitespace();
        match words.next()? {
            "MOVED" => {
                let slot = words.next()?.parse().ok()?;
                let to = address(words.next()?)?;
                Some(Redirect::Moved { slot, to })
            }
            "ASK" => {
                let _slot: u16 = words.next()?.parse().ok()?;
                Some(Redirect::Ask {
                    to: address(words.next()?)?,
                })
            }
            "TRYAGAIN" | "CLUSTERDOWN" | "LOADING" => Some(Redirect::Retry),
            "READONLY" => Some(Redirect::Stale),
            _ => None,
        }
    }
}

/// `host:port`, `[v6]:port` or `:port` (an empty host: the node that answered,
/// which the caller substitutes).
fn address(text: &str) -> Option<NodeAddr> {
    let (host, port) = text.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host.to_string(), port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> Value {
        Value::Error(text.as_bytes().to_vec().into())
    }

    #[test]
    fn reads_redirects() {
        assert_eq!(
            Redirect::of(&error("MOVED 3999 127.0.0.1:6381")),
            Some(Redirect::Moved {
                slot: 3999,
                to: ("127.0.0.1".into(), 6381)
            })
        );
        assert_eq!(
            Redirect::of(&error("ASK 3999 [::1]:6381")),
            Some(Redirect::Ask {
                to: ("::1".into(), 6381)
            })
        );
        assert_eq!(
            Redirect::of(&error(
                "TRYAGAIN Multiple keys request during rehashing of slot"
            )),
            Some(Redirect::Retry)
        );
        assert_eq!(
            Redirect::of(&error("CLUSTERDOWN The cluster is down")),
            Some(Redirect::Retry)
        );
        assert_eq!(
            Redirect::of(&error(
                "READONLY You can't write against a read only replica."
            )),
            Some(Redirect::Stale)
        );
        assert_eq!(Redirect::of(&error("ERR unknown command")), None);
        assert_eq!(Redirect::of(&error("MOVED nonsense")), None);
        assert_eq!(Redirect::of(&Value::Integer(1)), None);
    }
}
