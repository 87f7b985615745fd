//! Geospatial commands: GEOADD ([`GeoAddOptions`]), GEODIST ([`GeoUnit`]), GEOPOS
//! ([`GeoPosition`]), GEOHASH, GEOSEARCH and GEOSEARCHSTORE ([`GeoSearch`],
//! [`GeoWith`], [`GeoMatch`]). A geo set is a sorted set whose scores are geohashes,
//! so ZRANGE, ZREM and the rest work on it too.

use redmux_resp::{ToArg, Value};

use crate::{Command, Commands, Error, FromValue, Request, Result, cmd};

impl Commands {
    /// Adds a member at a position, or moves it: `GEOADD key longitude latitude member`.
    /// The reply is whether the member is new. Longitudes run from -180 to 180,
    /// latitudes from -85.05112878 to 85.05112878; the server refuses others.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let added: bool = client.geoadd("shops", 13.361389, 38.115556, "palermo").await?;
    /// # Ok(()) }
    /// ```
    pub fn geoadd(
        &self,
        key: impl ToArg,
        longitude: f64,
        latitude: f64,
        member: impl ToArg,
    ) -> Request<'_, bool> {
        self.request(
            cmd("GEOADD")
                .key(key)
                .arg(longitude)
                .arg(latitude)
                .arg(member),
        )
    }

    /// Adds members at positions, or moves them:
    /// `GEOADD key longitude latitude member [longitude latitude member ...]`. The reply
    /// is how many are new.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let added: u64 = client
    ///     .geoadd_many("shops", [(13.361389, 38.115556, "palermo"), (15.087269, 37.502669, "catania")])
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn geoadd_many(
        &self,
        key: impl ToArg,
        members: impl IntoIterator<Item = (f64, f64, impl ToArg)>,
    ) -> Request<'_, u64> {
        self.request(positioned(cmd("GEOADD").key(key), members))
    }

    /// Adds or moves members under conditions:
    /// `GEOADD key [NX|XX] [CH] longitude latitude member [...]`. The reply is how many
    /// are new, or with [`ch()`](GeoAddOptions::ch) how many were added or moved.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::GeoAddOptions;
    /// // Move known couriers only, and count the moves.
    /// let moved: u64 = client
    ///     .geoadd_with("couriers", [(2.35, 48.85, "c-17")], GeoAddOptions::new().xx().ch())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn geoadd_with(
        &self,
        key: impl ToArg,
        members: impl IntoIterator<Item = (f64, f64, impl ToArg)>,
        options: GeoAddOptions,
    ) -> Request<'_, u64> {
        let mut command = cmd("GEOADD").key(key);
        options.push_args(&mut command);
        self.request(positioned(command, members))
    }

    /// The distance between two members: `GEODIST key member1 member2 m|km|mi|ft`.
    /// `None` when either is missing. Redis sends it rounded to four decimals, as a
    /// string even over RESP3.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::GeoUnit;
    /// let km: Option<f64> = client.geodist("shops", "palermo", "catania", GeoUnit::Kilometers).await?;
    /// # Ok(()) }
    /// ```
    pub fn geodist(
        &self,
        key: impl ToArg,
        member1: impl ToArg,
        member2: impl ToArg,
        unit: GeoUnit,
    ) -> Request<'_, Option<f64>> {
        self.request(
            cmd("GEODIST")
                .key(key)
                .arg(member1)
                .arg(member2)
                .arg(unit.as_str()),
        )
    }

    /// The positions of members, `None` for each missing one, in the order given:
    /// `GEOPOS key member [member ...]`. Positions come back from the stored geohash,
    /// so they differ from what was added by up to about a metre.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let positions = client.geopos("shops", ["palermo", "nowhere"]).await?;
    /// if let Some(p) = &positions[0] {
    ///     println!("{}, {}", p.longitude, p.latitude);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn geopos(
        &self,
        key: impl ToArg,
        members: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, Vec<Option<GeoPosition>>> {
        self.request(cmd("GEOPOS").key(key).args(members))
    }

    /// The 11-character geohash strings of members, `None` for each missing one:
    /// `GEOHASH key member [member ...]`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let hashes: Vec<Option<String>> = client.geohash("shops", ["palermo"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn geohash(
        &self,
        key: impl ToArg,
        members: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, Vec<Option<String>>> {
        self.request(cmd("GEOHASH").key(key).args(members))
    }

    /// Members within a radius or a box: `GEOSEARCH key FROMMEMBER member|FROMLONLAT
    /// longitude latitude BYRADIUS radius unit|BYBOX width height unit [ASC|DESC]
    /// [COUNT count [ANY]]`. See [`geosearch_with`](Self::geosearch_with) for their
    /// distances and positions.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::{GeoSearch, GeoUnit};
    /// let near: Vec<String> = client
    ///     .geosearch("shops", GeoSearch::from_lonlat(15.0, 37.0).by_radius(200.0, GeoUnit::Kilometers).asc())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn geosearch<T: FromValue>(
        &self,
        key: impl ToArg,
        search: GeoSearch,
    ) -> Request<'_, Vec<T>> {
        let mut command = cmd("GEOSEARCH").key(key);
        search.push_args(&mut command);
        self.request(command)
    }

    /// Members within a radius or a box, with their distance, geohash or position:
    /// `GEOSEARCH key ... [WITHCOORD] [WITHDIST] [WITHHASH]`. Each [`GeoMatch`] has the
    /// details [`GeoWith`] asked for; distances are in the search's unit.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::{GeoSearch, GeoUnit, GeoWith};
    /// let search = GeoSearch::from_member("palermo").by_box(400.0, 400.0, GeoUnit::Kilometers).asc().count(5);
    /// for shop in client.geosearch_with::<String>("shops", search, GeoWith::new().dist().coord()).await? {
    ///     println!("{} at {:?} km", shop.member, shop.distance);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn geosearch_with<T: FromValue>(
        &self,
        key: impl ToArg,
        search: GeoSearch,
        with: GeoWith,
    ) -> Request<'_, Vec<GeoMatch<T>>> {
        let mut command = cmd("GEOSEARCH").key(key);
        search.push_args(&mut command);
        with.push_args(&mut command);
        self.request(command)
    }

    /// Stores the members a search finds in `destination`, as a geo set (overwriting
    /// it): `GEOSEARCHSTORE destination source FROMMEMBER ...|FROMLONLAT ... BYRADIUS
    /// ...|BYBOX ... [ASC|DESC] [COUNT count [ANY]]`. The reply is how many were stored.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::{GeoSearch, GeoUnit};
    /// let search = GeoSearch::from_lonlat(15.0, 37.0).by_radius(100.0, GeoUnit::Kilometers);
    /// let stored: u64 = client.geosearchstore("shops:near-me", "shops", search).await?;
    /// # Ok(()) }
    /// ```
    pub fn geosearchstore(
        &self,
        destination: impl ToArg,
        source: impl ToArg,
        search: GeoSearch,
    ) -> Request<'_, u64> {
        let mut command = cmd("GEOSEARCHSTORE").key(destination).key(source);
        search.push_args(&mut command);
        self.request(command)
    }

    /// Stores the members a search finds in `destination` as a plain sorted set whose
    /// scores are their distances, in the search's unit: `GEOSEARCHSTORE ... STOREDIST`.
    /// The reply is how many were stored.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::{GeoSearch, GeoUnit, ZRange};
    /// let search = GeoSearch::from_member("home").by_radius(5.0, GeoUnit::Kilometers);
    /// client.geosearchstore_storedist("shops:by-distance", "shops", search).await?;
    /// let nearest: Vec<(String, f64)> = client.zrange_with_scores("shops:by-distance", ZRange::index(0, 2)).await?;
    /// # Ok(()) }
    /// ```
    pub fn geosearchstore_storedist(
        &self,
        destination: impl ToArg,
        source: impl ToArg,
        search: GeoSearch,
    ) -> Request<'_, u64> {
        let mut command = cmd("GEOSEARCHSTORE").key(destination).key(source);
        search.push_args(&mut command);
        self.request(command.arg("STOREDIST"))
    }
}

/// Appends `longitude latitude member` for each triple.
fn positioned(
    mut command: Command,
    members: impl IntoIterator<Item = (f64, f64, impl ToArg)>,
) -> Command {
    for (longitude, latitude, member) in members {
        command
            .push_arg(longitude)
            .push_arg(latitude)
            .push_arg(member);
    }
    command
}

/// A unit of distance for [`Client::geodist`] and [`GeoSearch`].
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use redmux::GeoUnit;
/// // GEODIST shops palermo catania mi
/// let miles = client.geodist("shops", "palermo", "catania", GeoUnit::Miles).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GeoUnit {
    /// `m`
    Meters,
    /// `km`
    Kilometers,
    /// `mi`
    Miles,
    /// `ft`
    Feet,
}

impl GeoUnit {
    /// The name Redis uses for the unit.
    pub fn as_str(self) -> &'static str {
        match self {
            GeoUnit::Meters => "m",
            GeoUnit::Kilometers => "km",
            GeoUnit::Miles => "mi",
            GeoUnit::Feet => "ft",
        }
    }
}

/// A longitude and latitude, in degrees: a [`Client::geopos`] reply, or the
/// position in a [`GeoMatch`]. RESP2 sends the two as strings, RESP3 as doubles.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// // GEOPOS shops palermo
/// if let [Some(p)] = client.geopos("shops", ["palermo"]).await?[..] {
///     println!("lon {} lat {}", p.longitude, p.latitude);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPosition {
    /// East-west, -180 to 180.
    pub longitude: f64,
    /// North-south, about -85.05 to 85.05.
    pub latitude: f64,
}

impl FromValue for GeoPosition {
    fn from_value(value: Value) -> Result<Self> {
        let (longitude, latitude) = <(f64, f64)>::from_value(value)?;
        Ok(GeoPosition {
            longitude,
            latitude,
        })
    }
}

/// The conditions of [`Client::geoadd_with`]. `nx()` then `xx()` sends `XX`; the
/// server refuses `NX` with `XX`, so there is no way to ask for both.
///
/// ```
/// use redmux::GeoAddOptions;
/// // GEOADD key NX CH longitude latitude member ...
/// let new_only = GeoAddOptions::new().nx().ch();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GeoAddOptions {
    existence: Option<&'static str>,
    ch: bool,
}

impl GeoAddOptions {
    /// No conditions: add new members and move existing ones.
    pub fn new() -> Self {
        GeoAddOptions::default()
    }

    /// `NX`: only add new members; never move existing ones.
    pub fn nx(mut self) -> Self {
        self.existence = Some("NX");
        self
    }

    /// `XX`: only move existing members; never add new ones.
    pub fn xx(mut self) -> Self {
        self.existence = Some("XX");
        self
    }

    /// `CH`: reply with how many members were added or moved, not only added.
    pub fn ch(mut self) -> Self {
        self.ch = true;
        self
    }

    fn push_args(self, command: &mut Command) {
        if let Some(existence) = self.existence {
            command.push_arg(existence);
        }
        if self.ch {
            command.push_arg("CH");
        }
    }
}

/// Where a [`GeoSearch`] is centred, before its shape is chosen: from
/// [`GeoSearch::from_member`] or [`GeoSearch::from_lonlat`].
///
/// ```
/// use redmux::{GeoFrom, GeoSearch, GeoUnit};
/// // FROMMEMBER palermo, then BYRADIUS 50 km or BYBOX 100 20 km
/// let origin: GeoFrom = GeoSearch::from_member("palermo");
/// let circle = origin.clone().by_radius(50.0, GeoUnit::Kilometers);
/// let strip = origin.by_box(100.0, 20.0, GeoUnit::Kilometers);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GeoFrom {
    center: Center,
}

#[derive(Debug, Clone, PartialEq)]
enum Center {
    Member(Vec<u8>),
    LonLat(f64, f64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Radius(f64, GeoUnit),
    Box(f64, f64, GeoUnit),
}

impl GeoFrom {
    /// `BYRADIUS radius unit`: members within a circle.
    pub fn by_radius(self, radius: f64, unit: GeoUnit) -> GeoSearch {
        GeoSearch::new(self.center, Shape::Radius(radius, unit))
    }

    /// `BYBOX width height unit`: members within an axis-aligned rectangle centred on
    /// the origin.
    pub fn by_box(self, width: f64, height: f64, unit: GeoUnit) -> GeoSearch {
        GeoSearch::new(self.center, Shape::Box(width, height, unit))
    }
}

/// Where and how far [`Client::geosearch`] looks: a centre, a shape, and optionally an
/// order and a count. Without [`asc`](Self::asc) or [`desc`](Self::desc) the order is
/// unspecified.
///
/// ```
/// use redmux::{GeoSearch, GeoUnit};
/// // FROMLONLAT 15 37 BYRADIUS 200 km ASC COUNT 3
/// let nearest_three = GeoSearch::from_lonlat(15.0, 37.0).by_radius(200.0, GeoUnit::Kilometers).asc().count(3);
/// // FROMMEMBER palermo BYBOX 10 5 mi COUNT 10 ANY
/// let any_ten = GeoSearch::from_member("palermo").by_box(10.0, 5.0, GeoUnit::Miles).count_any(10);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GeoSearch {
    center: Center,
    shape: Shape,
    order: Option<&'static str>,
    count: Option<(u64, bool)>,
}

impl GeoSearch {
    /// `FROMMEMBER member`: centred on a member of the set itself.
    pub fn from_member(member: impl AsRef<[u8]>) -> GeoFrom {
        GeoFrom {
            center: Center::Member(member.as_ref().to_vec()),
        }
    }

    /// `FROMLONLAT longitude latitude`: centred on a position.
    pub fn from_lonlat(longitude: f64, latitude: f64) -> GeoFrom {
        GeoFrom {
            center: Center::LonLat(longitude, latitude),
        }
    }

    fn new(center: Center, shape: Shape) -> Self {
        GeoSearch {
            center,
            shape,
            order: None,
            count: None,
        }
    }

    /// `ASC`: nearest first.
    pub fn asc(mut self) -> Self {
        self.order = Some("ASC");
        self
    }

    /// `DESC`: farthest first.
    pub fn desc(mut self) -> Self {
        self.order = Some("DESC");
        self
    }

    /// `COUNT count`: at most `count` members; with [`asc`](Self::asc), the nearest.
    pub fn count(mut self, count: u64) -> Self {
        self.count = Some((count, false));
        self
    }

    /// `COUNT count ANY`: stop as soon as `count` members are found, which is faster
    /// but gives any `count` matches rather than the nearest.
    pub fn count_any(mut self, count: u64) -> Self {
        self.count = Some((count, true));
        self
    }

    fn push_args(self, command: &mut Command) {
        match self.center {
            Center::Member(member) => _ = command.push_arg("FROMMEMBER").push_arg(member),
            Center::LonLat(longitude, latitude) => {
                _ = command
                    .push_arg("FROMLONLAT")
                    .push_arg(longitude)
                    .push_arg(latitude)
            }
        }
        match self.shape {
            Shape::Radius(radius, unit) => {
                _ = command
                    .push_arg("BYRADIUS")
                    .push_arg(radius)
                    .push_arg(unit.as_str())
            }
            Shape::Box(width, height, unit) => {
                _ = command
                    .push_arg("BYBOX")
                    .push_arg(width)
                    .push_arg(height)
                    .push_arg(unit.as_str())
            }
        }
        if let Some(order) = self.order {
            command.push_arg(order);
        }
        if let Some((count, any)) = self.count {
            command.push_arg("COUNT").push_arg(count);
            if any {
                command.push_arg("ANY");
            }
        }
    }
}

/// Which details [`Client::geosearch_with`] returns with each member.
///
/// ```
/// use redmux::GeoWith;
/// // WITHCOORD WITHDIST WITHHASH
/// let everything = GeoWith::new().coord().dist().hash();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GeoWith {
    coord: bool,
    dist: bool,
    hash: bool,
}

impl GeoWith {
    /// No details: each [`GeoMatch`] has its member only.
    pub fn new() -> Self {
        GeoWith::default()
    }

    /// `WITHCOORD`: [`GeoMatch::position`].
    pub fn coord(mut self) -> Self {
        self.coord = true;
        self
    }

    /// `WITHDIST`: [`GeoMatch::distance`], from the centre, in the search's unit.
    pub fn dist(mut self) -> Self {
        self.dist = true;
        self
    }

    /// `WITHHASH`: [`GeoMatch::hash`], the raw 52-bit geohash score.
    pub fn hash(mut self) -> Self {
        self.hash = true;
        self
    }

    fn push_args(self, command: &mut Command) {
        for (on, name) in [
            (self.coord, "WITHCOORD"),
            (self.dist, "WITHDIST"),
            (self.hash, "WITHHASH"),
        ] {
            if on {
                command.push_arg(name);
            }
        }
    }
}

/// One member a [`Client::geosearch_with`] found, with the details asked for; the
/// others are `None`.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use redmux::{GeoMatch, GeoSearch, GeoUnit, GeoWith};
/// // GEOSEARCH shops FROMLONLAT 15 37 BYRADIUS 10 km ASC WITHDIST
/// let search = GeoSearch::from_lonlat(15.0, 37.0).by_radius(10.0, GeoUnit::Kilometers).asc();
/// let found: Vec<GeoMatch<String>> = client.geosearch_with("shops", search, GeoWith::new().dist()).await?;
/// if let Some(GeoMatch { member, distance: Some(km), .. }) = found.first() {
///     println!("nearest: {member}, {km} km");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GeoMatch<T> {
    /// The member.
    pub member: T,
    /// `WITHDIST`: the distance from the centre, in the search's unit, rounded to four
    /// decimals by the server.
    pub distance: Option<f64>,
    /// `WITHHASH`: the member's geohash, as its sorted-set score.
    pub hash: Option<u64>,
    /// `WITHCOORD`: the member's position.
    pub position: Option<GeoPosition>,
}

/// Reads `member` alone, or `[member, distance?, hash?, [lon, lat]?]`. The details
/// come in that order, but each also has its own kind (a string or double, an
/// integer, an array), so they are told apart by kind, not by which were asked for.
impl<T: FromValue> FromValue for GeoMatch<T> {
    fn from_value(value: Value) -> Result<Self> {
        let items = match value {
            Value::Array(items) => items,
            member => {
                return Ok(GeoMatch {
                    member: T::from_value(member)?,
                    distance: None,
                    hash: None,
                    position: None,
                });
            }
        };
        let mut items = items.into_iter();
        let member = T::from_value(items.next().unwrap_or(Value::Nil))?;
        let mut found = GeoMatch {
            member,
            distance: None,
            hash: None,
            position: None,
        };
        for item in items {
            match item {
                Value::Integer(h) => {
                    let hash = u64::try_from(h)
                        .map_err(|_| Error::conversion("a geohash", &Value::Integer(h)))?;
                    found.hash = Some(hash);
                }
                position @ Value::Array(_) => {
                    found.position = Some(GeoPosition::from_value(position)?)
                }
                distance => found.distance = Some(f64::from_value(distance)?),
            }
        }
        Ok(found)
    }
}
