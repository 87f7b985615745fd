//! Geospatial commands against a real server, over RESP2 and RESP3: GEOADD and its
//! options, GEODIST in each unit, GEOPOS, GEOHASH, GEOSEARCH by radius and box, from a
//! member or a position, ordered, counted, with details; GEOSEARCHSTORE.

use redmux::{
    Client, Error, GeoAddOptions, GeoMatch, GeoSearch, GeoUnit, GeoWith, Value, ZRange, cmd,
};
use redmux_testkit::RedisServer;

async fn connect(options: &str) -> (RedisServer, Client) {
    let server = RedisServer::start().expect("redis-server");
    let client = Client::connect(&format!("{}{options}", server.url()))
        .await
        .unwrap();
    (server, client)
}

const PALERMO: (f64, f64) = (13.361389, 38.115556);
const CATANIA: (f64, f64) = (15.087269, 37.502669);

async fn sicily(client: &Client) {
    assert!(
        client
            .geoadd("sicily", PALERMO.0, PALERMO.1, "palermo")
            .await
            .unwrap()
    );
    let added = client
        .geoadd_many(
            "sicily",
            [
                (CATANIA.0, CATANIA.1, "catania"),
                (13.583333, 37.316667, "agrigento"),
                (12.758489, 38.788135, "edge"),
                (PALERMO.0, PALERMO.1, "palermo"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(added, 3, "palermo was there");
}

fn close(a: f64, b: f64, within: f64) -> bool {
    (a - b).abs() <= within
}

fn members<T: Clone>(found: &[GeoMatch<T>]) -> Vec<T> {
    found.iter().map(|m| m.member.clone()).collect()
}

async fn add_and_measure(client: &Client) {
    sicily(client).await;
    assert!(
        !client
            .geoadd("sicily", 13.4, 38.1, "palermo")
            .await
            .unwrap(),
        "a move, not an add"
    );
    client
        .geoadd("sicily", PALERMO.0, PALERMO.1, "palermo")
        .await
        .unwrap();

    // NX adds only, XX moves only, CH counts moves too.
    let n = client
        .geoadd_with(
            "sicily",
            [(1.0, 1.0, "palermo"), (14.0, 37.0, "new")],
            GeoAddOptions::new().nx(),
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let n = client
        .geoadd_with(
            "sicily",
            [(14.1, 37.1, "new"), (1.0, 1.0, "nowhere")],
            GeoAddOptions::new().xx().ch(),
        )
        .await
        .unwrap();
    assert_eq!(n, 1, "new moved, nowhere not added");
    assert_eq!(
        client
            .zrem_many("sicily", ["new", "nowhere"])
            .await
            .unwrap(),
        1
    );
    let e = match client.geoadd("sicily", 200.0, 0.0, "bad").await {
        Err(Error::Server(e)) => e.to_string(),
        other => panic!("{other:?}"),
    };
    assert!(e.contains("invalid longitude,latitude"), "{e}");

    let km = client
        .geodist("sicily", "palermo", "catania", GeoUnit::Kilometers)
        .await
        .unwrap();
    assert_eq!(km, Some(166.2742));
    let m = client
        .geodist("sicily", "palermo", "catania", GeoUnit::Meters)
        .await
        .unwrap();
    assert_eq!(m, Some(166_274.151_6));
    let mi = client
        .geodist("sicily", "palermo", "catania", GeoUnit::Miles)
        .await
        .unwrap()
        .unwrap();
    let ft = client
        .geodist("sicily", "palermo", "catania", GeoUnit::Feet)
        .await
        .unwrap()
        .unwrap();
    assert!(
        close(mi, 103.3182, 1e-9) && close(ft, 545_518.87, 1e-6),
        "{mi} {ft}"
    );
    assert_eq!(
        client
            .geodist("sicily", "palermo", "nobody", GeoUnit::Meters)
            .await
            .unwrap(),
        None
    );

    let positions = client
        .geopos("sicily", ["palermo", "nobody", "catania"])
        .await
        .unwrap();
    assert_eq!(positions.len(), 3);
    let p = positions[0].unwrap();
    assert!(close(p.longitude, PALERMO.0, 1e-5) && close(p.latitude, PALERMO.1, 1e-5));
    assert_eq!(positions[1], None);
    assert!(positions[2].is_some());
    assert!(
        client
            .geopos("missing", ["a"])
            .await
            .unwrap()
            .iter()
            .all(Option::is_none)
    );

    let hashes = client
        .geohash("sicily", ["palermo", "nobody", "catania"])
        .await
        .unwrap();
    assert_eq!(
        hashes,
        [Some("sqc8b49rny0".into()), None, Some("sqdtr74hyu0".into())]
    );
}

async fn search(client: &Client) {
    sicily(client).await;
    let around = || GeoSearch::from_lonlat(15.0, 37.0);

    // By radius, nearest first, with distances in the search's unit.
    let near = client
        .geosearch_with::<String>(
            "sicily",
            around().by_radius(200.0, GeoUnit::Kilometers).asc(),
            GeoWith::new().dist(),
        )
        .await
        .unwrap();
    assert_eq!(members(&near), ["catania", "agrigento", "palermo"]);
    let distances: Vec<f64> = near.iter().map(|m| m.distance.unwrap()).collect();
    assert_eq!(distances, [56.4413, 130.4235, 190.4424]);
    assert!(
        near.iter()
            .all(|m| m.hash.is_none() && m.position.is_none())
    );

    let far_first: Vec<String> = client
        .geosearch(
            "sicily",
            around().by_radius(300.0, GeoUnit::Kilometers).desc(),
        )
        .await
        .unwrap();
    assert_eq!(far_first, ["edge", "palermo", "agrigento", "catania"]);
    let nearest_two: Vec<String> = client
        .geosearch(
            "sicily",
            around()
                .by_radius(300.0, GeoUnit::Kilometers)
                .asc()
                .count(2),
        )
        .await
        .unwrap();
    assert_eq!(nearest_two, ["catania", "agrigento"]);
    let any_two: Vec<String> = client
        .geosearch(
            "sicily",
            around().by_radius(300.0, GeoUnit::Kilometers).count_any(2),
        )
        .await
        .unwrap();
    assert_eq!(any_two.len(), 2);
    let in_miles: Vec<String> = client
        .geosearch("sicily", around().by_radius(50.0, GeoUnit::Miles).asc())
        .await
        .unwrap();
    assert_eq!(in_miles, ["catania"], "56 km is about 35 miles");

    // From a member, in a box (200 km wide: 100 km either side).
    let boxed = client
        .geosearch_with::<String>(
            "sicily",
            GeoSearch::from_member("palermo")
                .by_box(200.0, 200.0, GeoUnit::Kilometers)
                .asc(),
            GeoWith::new().dist().coord().hash(),
        )
        .await
        .unwrap();
    assert_eq!(members(&boxed), ["palermo", "agrigento", "edge"]);
    assert_eq!(boxed[0].distance, Some(0.0));
    assert_eq!(boxed[1].distance, Some(90.9778));
    assert_eq!(boxed[0].hash, Some(3_479_099_956_230_698));
    let p = boxed[0].position.unwrap();
    assert!(close(p.longitude, PALERMO.0, 1e-5) && close(p.latitude, PALERMO.1, 1e-5));

    // Details asked for alone still land in their own fields.
    let hashed = client
        .geosearch_with::<String>(
            "sicily",
            GeoSearch::from_member("catania").by_radius(1.0, GeoUnit::Meters),
            GeoWith::new().hash(),
        )
        .await
        .unwrap();
    assert_eq!(hashed.len(), 1);
    assert_eq!(
        (hashed[0].hash, hashed[0].distance, hashed[0].position),
        (Some(3_479_447_370_796_909), None, None)
    );
    let plain = client
        .geosearch_with::<String>(
            "sicily",
            GeoSearch::from_member("catania").by_radius(1.0, GeoUnit::Meters),
            GeoWith::new(),
        )
        .await
        .unwrap();
    assert_eq!(members(&plain), ["catania"]);

    // An unknown centre member is the server's error, not an empty result (as a
    // missing key is, below). Redis and Valkey word it differently ("could not decode
    // requested zset member", "member nobody does not exist"), so only the code is read.
    match client
        .geosearch::<String>(
            "sicily",
            GeoSearch::from_member("nobody").by_radius(1.0, GeoUnit::Meters),
        )
        .await
    {
        Err(Error::Server(e)) => assert_eq!(e.code(), "ERR", "{e}"),
        other => panic!("expected the server's error, got {other:?}"),
    }
    assert!(
        client
            .geosearch::<String>("missing", around().by_radius(1.0, GeoUnit::Kilometers))
            .await
            .unwrap()
            .is_empty()
    );

    // GEOSEARCHSTORE: a geo set, or with STOREDIST a sorted set of distances.
    let stored = client
        .geosearchstore(
            "near",
            "sicily",
            around().by_radius(200.0, GeoUnit::Kilometers),
        )
        .await
        .unwrap();
    assert_eq!(stored, 3);
    let d = client
        .geodist("near", "catania", "palermo", GeoUnit::Kilometers)
        .await
        .unwrap();
    assert_eq!(d, Some(166.2742), "still a geo set");
    let stored = client
        .geosearchstore_storedist(
            "by-distance",
            "sicily",
            around()
                .by_radius(200.0, GeoUnit::Kilometers)
                .asc()
                .count(2),
        )
        .await
        .unwrap();
    assert_eq!(stored, 2);
    let scored: Vec<(String, f64)> = client
        .zrange_with_scores("by-distance", ZRange::index(0, -1))
        .await
        .unwrap();
    assert_eq!(scored.len(), 2);
    assert_eq!(scored[0].0, "catania");
    assert!(close(scored[0].1, 56.4413, 1e-3), "{scored:?}");
}

#[tokio::test]
async fn add_and_measure_over_resp2() {
    let (_server, client) = connect("").await;
    add_and_measure(&client).await;
}

#[tokio::test]
async fn add_and_measure_over_resp3() {
    let (_server, client) = connect("?protocol=resp3").await;
    add_and_measure(&client).await;
}

#[tokio::test]
async fn search_over_resp2() {
    let (_server, client) = connect("").await;
    search(&client).await;
}

/// RESP3 sends coordinates as doubles, but distances (GEODIST, WITHDIST) still as
/// strings; both read as f64.
#[tokio::test]
async fn search_over_resp3() {
    let (_server, client) = connect("?protocol=resp3").await;
    sicily(&client).await;
    let raw: Value = client
        .command(cmd("GEOPOS").arg("sicily").arg("palermo"))
        .await
        .unwrap();
    assert!(
        matches!(&raw, Value::Array(p) if matches!(&p[..], [Value::Array(c)] if matches!(c[0], Value::Double(_)))),
        "{raw:?}"
    );
    let raw: Value = client
        .command(cmd("GEODIST").arg("sicily").arg("palermo").arg("catania"))
        .await
        .unwrap();
    assert!(matches!(raw, Value::BulkString(_)), "{raw:?}");
    client
        .command::<()>(cmd("DEL").arg("sicily"))
        .await
        .unwrap();
    search(&client).await;
}
