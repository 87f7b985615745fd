//! Moving a slot and its keys from one primary to another, the way `redis-cli
//! --cluster reshard` does: SETSLOT IMPORTING on the target, MIGRATING on the source,
//! MIGRATE in small batches, then SETSLOT NODE on the target, the source and every
//! other primary. [`SlotMigration`] stops half-way, so a test can see ASK redirects.

use std::time::{Duration, Instant};

use super::RedisCluster;
use super::node::expect_ok;
use super::slot::SLOTS;
use super::topology::{Role, Topology};
use crate::Error;

/// Keys moved per `MIGRATE`: small, so a slot is half-moved for a while and a big
/// slot does not block the source for long.
const BATCH: usize = 50;

/// `MIGRATE`'s own timeout, in milliseconds, for one batch.
const MIGRATE_TIMEOUT_MS: &str = "5000";

/// A slot being moved, between [`RedisCluster::begin_migration`] and
/// [`finish`](Self::finish). Meanwhile the source answers `ASK` for keys already moved
/// and for new keys, and the target serves moved keys after `ASKING`.
///
/// Dropping it without `finish` leaves the slot half-moved.
///
/// # Example
///
/// ```no_run
/// use redmux_testkit::{RedisCluster, hash_tag_for_slot};
///
/// let cluster = RedisCluster::start()?;
/// let tag = hash_tag_for_slot(100).expect("a valid slot");
/// let (moved, stays) = (format!("{tag}a"), format!("{tag}b"));
/// cluster.call(0, &["SET", &moved, "1"])?;
/// cluster.call(0, &["SET", &stays, "2"])?;
///
/// let mut migration = cluster.begin_migration(100, 1)?;
/// migration.move_key(&moved)?;
/// assert_eq!(cluster.call(0, &["GET", &moved])?.error_code(), Some("ASK"));
/// assert_eq!(cluster.call(0, &["GET", &stays])?.as_str(), Some("2"));
/// migration.finish()?;
/// assert_eq!(cluster.slot_owner(100), Some(1));
/// # Ok::<(), redmux_testkit::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "the slot stays half-moved until finish() is called"]
pub struct SlotMigration<'a> {
    cluster: &'a RedisCluster,
    slot: u16,
    source: usize,
    target: usize,
    started_at: Instant,
}

impl RedisCluster {
    /// Moves `slot` and all its keys to primary `to`, and returns once every node
    /// agrees that `to` owns it; returns the time taken.
    ///
    /// # Errors
    ///
    /// As [`begin_migration`](Self::begin_migration) and
    /// [`SlotMigration::finish`].
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::start()?;
    /// cluster.migrate_slot(0, 2)?;
    /// assert_eq!(cluster.slot_owner(0), Some(2));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn migrate_slot(&self, slot: u16, to: usize) -> Result<Duration, Error> {
        self.begin_migration(slot, to)?.finish()
    }

    /// Starts moving `slot` to primary `to`: `CLUSTER SETSLOT slot IMPORTING` on `to`,
    /// then `MIGRATING` on the slot's owner. No key moves yet.
    ///
    /// # Errors
    ///
    /// [`Error::ClusterUsage`] on the shared cluster, for a slot of 16,384 or more, a
    /// target that is not a live primary, or a slot it already owns;
    /// [`Error::Refused`] if a node refuses (e.g. the slot is already moving).
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::start()?;
    /// let migration = cluster.begin_migration(5, 1)?;
    /// assert_eq!((migration.source(), migration.target()), (0, 1));
    /// migration.finish()?;
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn begin_migration(&self, slot: u16, to: usize) -> Result<SlotMigration<'_>, Error> {
        self.refuse_if_shared("migrating a slot")?;
        let target = self.checked_node(to)?;
        if slot >= SLOTS {
            return Err(usage(format!(
                "there is no slot {slot}: slots are 0..16384"
            )));
        }
        if self.role(to) != Role::Primary || !target.is_running() {
            return Err(usage(format!("node {to} is not a live primary")));
        }
        let source = match self.slot_owner(slot) {
            Some(source) if source != to => source,
            Some(_) => return Err(usage(format!("node {to} already owns slot {slot}"))),
            None => return Err(usage(format!("no node owns slot {slot} to move it from"))),
        };
        let slot_text = slot.to_string();
        let started_at = Instant::now();
        // The target first: once the source says MIGRATING, it sends clients to the
        // target with ASK, and the target must accept them.
        let source_id = self.nodes[source].id.as_str();
        expect_ok(
            target,
            &["CLUSTER", "SETSLOT", &slot_text, "IMPORTING", source_id],
        )?;
        let target_id = target.id.as_str();
        let source_node = &self.nodes[source];
        expect_ok(
            source_node,
            &["CLUSTER", "SETSLOT", &slot_text, "MIGRATING", target_id],
        )?;
        Ok(SlotMigration {
            cluster: self,
            slot,
            source,
            target: to,
            started_at,
        })
    }
}

impl SlotMigration<'_> {
    /// The slot being moved.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::start()?;
    /// assert_eq!(cluster.begin_migration(7, 1)?.slot(), 7);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn slot(&self) -> u16 {
        self.slot
    }

    /// The node the slot moves from.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::start()?;
    /// assert_eq!(cluster.begin_migration(7, 1)?.source(), 0);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn source(&self) -> usize {
        self.source
    }

    /// The node the slot moves to.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::start()?;
    /// assert_eq!(cluster.begin_migration(7, 1)?.target(), 1);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn target(&self) -> usize {
        self.target
    }

    /// Moves one key (it must hash to the slot) to the target; `false` if the source
    /// did not have it.
    ///
    /// # Errors
    ///
    /// [`Error::Refused`] if `MIGRATE` fails, [`Error::Io`] if a node is unreachable.
    ///
    /// ```no_run
    /// # let cluster = redmux_testkit::RedisCluster::start()?;
    /// let tag = redmux_testkit::hash_tag_for_slot(9).expect("valid");
    /// let mut migration = cluster.begin_migration(9, 1)?;
    /// assert!(!migration.move_key(&format!("{tag}absent"))?);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn move_key(&mut self, key: impl AsRef<[u8]>) -> Result<bool, Error> {
        Ok(self.migrate(&[key.as_ref()])? > 0)
    }

    /// Moves up to `max` of the keys still on the source, in batches of 50; returns
    /// how many moved (fewer than `max` once the source has no more).
    ///
    /// # Errors
    ///
    /// As [`move_key`](Self::move_key).
    ///
    /// ```no_run
    /// # let cluster = redmux_testkit::RedisCluster::start()?;
    /// let mut migration = cluster.begin_migration(9, 1)?;
    /// let moved = migration.move_keys(10)?;
    /// assert!(moved <= 10);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn move_keys(&mut self, max: usize) -> Result<usize, Error> {
        let source = &self.cluster.nodes[self.source];
        let slot = self.slot.to_string();
        let mut moved = 0;
        while moved < max {
            let count = BATCH.min(max - moved).to_string();
            let reply = expect_ok(source, &["CLUSTER", "GETKEYSINSLOT", &slot, &count])?;
            let keys: Vec<&[u8]> = reply
                .as_array()
                .unwrap_or_default()
                .iter()
                .filter_map(|key| key.as_bytes())
                .collect();
            if keys.is_empty() {
                break;
            }
            let migrated = self.migrate(&keys)?;
            if migrated == 0 {
                // The keys expired or were deleted between the two commands.
                continue;
            }
            moved += migrated;
        }
        Ok(moved)
    }

    /// Moves every key left, gives the slot to the target on the target, the source
    /// and every other primary (`CLUSTER SETSLOT slot NODE`), and returns once every
    /// node agrees; returns the time since [`begin_migration`].
    ///
    /// # Errors
    ///
    /// [`Error::Refused`] if a node refuses, [`Error::ClusterNotSettled`] if the nodes
    /// do not agree in 30 s.
    ///
    /// [`begin_migration`]: RedisCluster::begin_migration
    ///
    /// ```no_run
    /// # let cluster = redmux_testkit::RedisCluster::start()?;
    /// let took = cluster.begin_migration(9, 1)?.finish()?;
    /// println!("moved in {took:?}");
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn finish(mut self) -> Result<Duration, Error> {
        // One pass empties the slot: while it is MIGRATING, new keys go to the target.
        self.move_keys(usize::MAX)?;
        let cluster = self.cluster;
        let slot = self.slot.to_string();
        let target_id = cluster.nodes[self.target].id.as_str();
        let setslot = ["CLUSTER", "SETSLOT", &slot, "NODE", target_id];
        // The target first, so it serves the slot before the source starts sending
        // clients there with MOVED; then the source; then the rest hear it directly
        // instead of waiting for gossip.
        expect_ok(&cluster.nodes[self.target], &setslot)?;
        expect_ok(&cluster.nodes[self.source], &setslot)?;
        for primary in cluster.primaries() {
            if primary != self.target && primary != self.source {
                expect_ok(&cluster.nodes[primary], &setslot)?;
            }
        }
        let (slot, target) = (self.slot, self.target);
        let expect = move |topology: &Topology| match topology.owner(slot) {
            Some(owner) if owner == target => Ok(()),
            _ => Err(format!("slot {slot} is not yet node {target}'s")),
        };
        let what = format!("moving slot {} to node {}", self.slot, self.target);
        cluster.settle(&what, self.started_at, &expect)
    }

    /// `MIGRATE host port "" 0 5000 KEYS k1 k2 ...`; returns how many keys it moved.
    fn migrate(&self, keys: &[&[u8]]) -> Result<usize, Error> {
        let target = &self.cluster.nodes[self.target];
        let port = target.port().to_string();
        let mut args: Vec<&[u8]> = vec![
            b"MIGRATE",
            b"127.0.0.1",
            port.as_bytes(),
            b"",
            b"0",
            MIGRATE_TIMEOUT_MS.as_bytes(),
            b"KEYS",
        ];
        args.extend_from_slice(keys);
        let reply = expect_ok(&self.cluster.nodes[self.source], &args)?;
        // `NOKEY` when none of them was there.
        Ok(match reply.as_str() {
            Some("NOKEY") => 0,
            _ => keys.len(),
        })
    }
}

fn usage(message: String) -> Error {
    Error::ClusterUsage { message }
}
