//! Times the Rust side of a schema cache load on an introspection document:
//! document → cache (`from_document`), cache → snapshot, snapshot → cache (`from_snapshot`).
//!
//!     cargo run --profile profiling --example schema_scale -- document.json
//!
//! Each step runs several times; the best time is printed (the machine is shared).

use std::time::{Duration, Instant};

use restpg_core::schema_cache::SchemaCache;

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        out = Some(value);
    }
    (best, out.expect("runs > 0"))
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: schema_scale <document.json>");
    let document = std::fs::read(&path).expect("read the document");
    let (parse, cache) = best(5, || {
        SchemaCache::from_document(&document).expect("document loads")
    });
    let (encode, snapshot) = best(5, || cache.to_snapshot("bench"));
    let (decode, _) = best(5, || {
        SchemaCache::from_snapshot(&snapshot).expect("snapshot loads")
    });
    eprintln!(
        "{path}: {} tables, {} relationships, {} routines; document {} KB, snapshot {} KB\n\
         document -> cache {:.1} ms, cache -> snapshot {:.1} ms, snapshot -> cache {:.1} ms",
        cache.table_count(),
        cache.relationship_count(),
        cache.routine_count(),
        document.len() / 1024,
        snapshot.len() / 1024,
        parse.as_secs_f64() * 1e3,
        encode.as_secs_f64() * 1e3,
        decode.as_secs_f64() * 1e3,
    );
}
