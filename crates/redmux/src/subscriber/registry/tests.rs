//! The registry's unit tests: what it queues and how it reads confirmations.

use super::*;
use crate::subscriber::message::Event;

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

fn confirm(kind: Kind, subscribe: bool, name: &'static str) -> Frame {
    Frame::Confirm {
        kind,
        subscribe,
        name: b(name),
    }
}

fn message_on(kind: Kind, name: &'static str, payload: &'static str) -> Frame {
    Frame::Message {
        kind,
        topic: b(name),
        message: Message::new(b(name), None, b(payload)),
    }
}

fn message(name: &'static str, payload: &'static str) -> Frame {
    Frame::Message {
        kind: Kind::Channel,
        topic: b(name),
        message: Message::new(b(name), None, b(payload)),
    }
}

fn written(registry: &mut Registry) -> String {
    let mut out = BytesMut::new();
    registry.take_outbox(&mut out);
    String::from_utf8_lossy(&out).replace("\r\n", " ")
}

#[test]
fn two_subscriptions_share_one_server_subscription() {
    let mut r = Registry::default();
    let (a, b_) = (Arc::new(Mailbox::new(8)), Arc::new(Mailbox::new(8)));
    let mut wakers = Vec::new();
    let mut first = r.register(Kind::Channel, &[b("ch")], 1, &a).unwrap();
    let mut second = r.register(Kind::Channel, &[b("ch")], 2, &b_).unwrap();
    assert_eq!(written(&mut r), "*2 $9 SUBSCRIBE $2 ch ");
    r.on_frame(confirm(Kind::Channel, true, "ch"), &mut wakers)
        .unwrap();
    assert!(matches!(first[0].try_recv(), Ok(Ok(()))));
    assert!(matches!(second[0].try_recv(), Ok(Ok(()))));
    // A third one joins an active topic: nothing to wait for, nothing to send.
    let c = Arc::new(Mailbox::new(8));
    assert!(
        r.register(Kind::Channel, &[b("ch")], 3, &c)
            .unwrap()
            .is_empty()
    );
    assert_eq!(written(&mut r), "");
    r.on_frame(message("ch", "hi"), &mut wakers).unwrap();
    for m in [&a, &b_, &c] {
        assert!(matches!(m.try_next(), Some(Event::Message(_))));
    }
    // Only the last to leave unsubscribes.
    assert!(!r.unregister(Kind::Channel, &[b("ch")], 1, None));
    assert!(!r.unregister(Kind::Channel, &[b("ch")], 3, None));
    assert!(r.unregister(Kind::Channel, &[b("ch")], 2, None));
    assert_eq!(written(&mut r), "*2 $11 UNSUBSCRIBE $2 ch ");
    r.on_frame(confirm(Kind::Channel, false, "ch"), &mut wakers)
        .unwrap();
}

#[test]
fn a_stale_confirmation_does_not_activate_a_newer_topic() {
    let mut r = Registry::default();
    let a = Arc::new(Mailbox::new(8));
    let mut wakers = Vec::new();
    let _first = r.register(Kind::Channel, &[b("ch")], 1, &a).unwrap();
    r.unregister(Kind::Channel, &[b("ch")], 1, None);
    let mut second = r.register(Kind::Channel, &[b("ch")], 2, &a).unwrap();
    assert_eq!(
        written(&mut r),
        "*2 $9 SUBSCRIBE $2 ch *2 $11 UNSUBSCRIBE $2 ch *2 $9 SUBSCRIBE $2 ch "
    );
    r.on_frame(confirm(Kind::Channel, true, "ch"), &mut wakers)
        .unwrap();
    assert!(
        second[0].try_recv().is_err(),
        "confirmed by the first SUBSCRIBE"
    );
    r.on_frame(confirm(Kind::Channel, false, "ch"), &mut wakers)
        .unwrap();
    r.on_frame(confirm(Kind::Channel, true, "ch"), &mut wakers)
        .unwrap();
    assert!(matches!(second[0].try_recv(), Ok(Ok(()))));
}

#[test]
fn reconnect_resubscribes_everything_and_owes_each_subscription_a_gap() {
    let mut r = Registry::default();
    let (a, p) = (Arc::new(Mailbox::new(8)), Arc::new(Mailbox::new(8)));
    let mut wakers = Vec::new();
    r.register(Kind::Channel, &[b("x")], 1, &a).unwrap();
    r.register(Kind::Pattern, &[b("p*")], 2, &p).unwrap();
    written(&mut r);
    r.on_disconnect();
    // Joined while disconnected: subscribed with the rest, owed no gap.
    let late = Arc::new(Mailbox::new(8));
    let mut rx = r.register(Kind::Channel, &[b("x")], 3, &late).unwrap();
    r.on_connect();
    assert_eq!(
        written(&mut r),
        "*2 $9 SUBSCRIBE $1 x *2 $10 PSUBSCRIBE $2 p* "
    );
    r.on_frame(confirm(Kind::Channel, true, "x"), &mut wakers)
        .unwrap();
    assert!(matches!(rx[0].try_recv(), Ok(Ok(()))));
    assert!(
        a.try_next().is_none(),
        "gap told before everything is resubscribed"
    );
    r.on_frame(confirm(Kind::Pattern, true, "p*"), &mut wakers)
        .unwrap();
    assert_eq!(a.try_next(), Some(Event::Gap));
    assert_eq!(p.try_next(), Some(Event::Gap));
    assert_eq!(late.try_next(), None);
}

#[test]
fn an_error_fails_the_whole_command_and_a_stranger_is_a_desync() {
    let mut r = Registry::default();
    let a = Arc::new(Mailbox::new(8));
    let mut wakers = Vec::new();
    let mut rx = r.register(Kind::Channel, &[b("a"), b("b")], 1, &a).unwrap();
    written(&mut r);
    r.on_frame(Frame::Error(b("NOPERM no")), &mut wakers)
        .unwrap();
    for rx in &mut rx {
        assert!(matches!(rx.try_recv(), Ok(Err(Error::Server(_)))));
    }
    assert!(
        r.on_frame(confirm(Kind::Channel, true, "a"), &mut wakers)
            .is_err()
    );
    assert!(r.on_frame(Frame::Pong, &mut wakers).is_err());
    r.ping(&mut BytesMut::new());
    assert!(r.ping_outstanding());
    r.on_frame(Frame::Pong, &mut wakers).unwrap();
}

fn shard_confirm(subscribe: bool, name: &'static str) -> Frame {
    confirm(Kind::Shard, subscribe, name)
}

#[test]
fn shard_channels_go_one_slot_per_command() {
    // "a" and "b" hash to different slots, "{a}x" to a's: a cluster would refuse
    // one SSUBSCRIBE of all three with CROSSSLOT.
    assert_ne!(hash_slot(b"a"), hash_slot(b"b"));
    let mut r = Registry::default();
    let m = Arc::new(Mailbox::new(8));
    let mut wakers = Vec::new();
    r.register(Kind::Shard, &[b("a"), b("b"), b("{a}x")], 1, &m)
        .unwrap();
    assert_eq!(
        written(&mut r),
        "*3 $10 SSUBSCRIBE $1 a $4 {a}x *2 $10 SSUBSCRIBE $1 b "
    );
    for name in ["a", "{a}x", "b"] {
        r.on_frame(shard_confirm(true, name), &mut wakers).unwrap();
    }
    // The unsubscribe too; its `done` comes with the last command.
    let (tx, mut rx) = oneshot::channel();
    r.unregister(Kind::Shard, &[b("a"), b("b"), b("{a}x")], 1, Some(tx));
    assert_eq!(
        written(&mut r),
        "*3 $12 SUNSUBSCRIBE $1 a $4 {a}x *2 $12 SUNSUBSCRIBE $1 b "
    );
    for name in ["a", "{a}x"] {
        r.on_frame(shard_confirm(false, name), &mut wakers).unwrap();
    }
    assert!(rx.try_recv().is_err(), "told before the last command");
    r.on_frame(shard_confirm(false, "b"), &mut wakers).unwrap();
    assert!(rx.try_recv().is_ok());

    // The resubscription after a reconnect too; channels stay one command.
    let mut r = Registry::default();
    r.register(Kind::Shard, &[b("a"), b("b")], 1, &m).unwrap();
    r.register(Kind::Channel, &[b("a"), b("b")], 2, &m).unwrap();
    written(&mut r);
    r.on_disconnect();
    r.on_connect();
    let out = written(&mut r);
    assert_eq!(out.matches("*3 $9 SUBSCRIBE").count(), 1, "{out}");
    assert_eq!(out.matches("*2 $10 SSUBSCRIBE").count(), 2, "{out}");
}

#[test]
fn an_unasked_sunsubscribe_subscribes_again_here_or_sets_the_channel_aside() {
    let mut wakers = Vec::new();
    // A standalone registry subscribes it again on its own connection.
    let mut r = Registry::default();
    let m = Arc::new(Mailbox::new(8));
    r.register(Kind::Shard, &[b("s")], 1, &m).unwrap();
    written(&mut r);
    r.on_frame(shard_confirm(true, "s"), &mut wakers).unwrap();
    r.on_frame(shard_confirm(false, "s"), &mut wakers)
        .expect("not a desync");
    assert_eq!(written(&mut r), "*2 $10 SSUBSCRIBE $1 s ");
    assert_eq!(m.try_next(), None, "the gap is told once it is back");
    r.on_frame(shard_confirm(true, "s"), &mut wakers).unwrap();
    assert_eq!(m.try_next(), Some(Event::Gap));

    // A cluster node's registry sets it aside for the mover.
    let mut r = Registry::relocating();
    let m = Arc::new(Mailbox::new(8));
    r.register(Kind::Shard, &[b("s")], 1, &m).unwrap();
    written(&mut r);
    r.on_frame(shard_confirm(true, "s"), &mut wakers).unwrap();
    r.on_frame(shard_confirm(false, "s"), &mut wakers).unwrap();
    assert_eq!(written(&mut r), "");
    assert!(r.has_misplaced());
    assert_eq!(r.take_misplaced(), [b("s")]);
    let moving = r.take_topic(&b("s")).unwrap();
    assert!(!r.has_topic(Kind::Shard, &b("s")));
    assert_eq!(written(&mut r), "", "the server dropped it already");

    // Adopted by another node: subscribed there, the gap told on its confirmation.
    let mut other = Registry::relocating();
    other.adopt(b("s"), moving, &mut wakers);
    assert_eq!(written(&mut other), "*2 $10 SSUBSCRIBE $1 s ");
    assert_eq!(m.try_next(), None);
    other
        .on_frame(shard_confirm(true, "s"), &mut wakers)
        .unwrap();
    assert_eq!(m.try_next(), Some(Event::Gap));
    other
        .on_frame(message_on(Kind::Shard, "s", "hi"), &mut wakers)
        .unwrap();
    assert!(matches!(m.try_next(), Some(Event::Message(_))));
}

#[test]
fn moved_on_a_cluster_node_keeps_the_call_waiting_and_sets_the_channel_aside() {
    let mut wakers = Vec::new();
    let mut r = Registry::relocating();
    let m = Arc::new(Mailbox::new(8));
    let mut rx = r.register(Kind::Shard, &[b("s")], 1, &m).unwrap();
    written(&mut r);
    r.on_frame(Frame::Error(b("MOVED 1 127.0.0.1:7001")), &mut wakers)
        .unwrap();
    assert!(rx[0].try_recv().is_err(), "still waiting");
    assert_eq!(r.take_misplaced(), [b("s")]);
    let moving = r.take_topic(&b("s")).unwrap();
    let mut owner = Registry::relocating();
    owner.adopt(b("s"), moving, &mut wakers);
    written(&mut owner);
    owner
        .on_frame(shard_confirm(true, "s"), &mut wakers)
        .unwrap();
    assert!(matches!(rx[0].try_recv(), Ok(Ok(()))));
    // Never listened before: no gap to tell.
    assert_eq!(m.try_next(), None);

    // Elsewhere (standalone), a refusal fails the call as before.
    let mut r = Registry::default();
    let mut rx = r.register(Kind::Shard, &[b("s")], 1, &m).unwrap();
    written(&mut r);
    r.on_frame(Frame::Error(b("MOVED 1 127.0.0.1:7001")), &mut wakers)
        .unwrap();
    assert!(matches!(rx[0].try_recv(), Ok(Err(Error::Server(_)))));
}

#[test]
fn back_to_back_shard_subscribes_each_take_their_own_refusal() {
    // One SSUBSCRIBE per slot, written together: the server answers them in order,
    // so a MOVED for the first refuses only its channels, and the second's
    // confirmation is the second's (why writing them back to back is safe here).
    assert_ne!(hash_slot(b"a"), hash_slot(b"b"));
    let mut wakers = Vec::new();
    let mut r = Registry::relocating();
    let m = Arc::new(Mailbox::new(8));
    let mut rx = r.register(Kind::Shard, &[b("a"), b("b")], 1, &m).unwrap();
    assert_eq!(
        written(&mut r),
        "*2 $10 SSUBSCRIBE $1 a *2 $10 SSUBSCRIBE $1 b "
    );
    r.on_frame(Frame::Error(b("MOVED 15495 127.0.0.1:7001")), &mut wakers)
        .unwrap();
    r.on_frame(shard_confirm(true, "b"), &mut wakers).unwrap();
    assert_eq!(r.take_misplaced(), [b("a")], "only a's command was refused");
    assert!(rx[0].try_recv().is_err(), "a waits for its new owner");
    assert!(matches!(rx[1].try_recv(), Ok(Ok(()))), "b is confirmed");
}
